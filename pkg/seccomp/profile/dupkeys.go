package profile

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// duplicateKeys notes every object key that appears twice in one object of
// data (a JSON document Parse accepted). encoding/json, and so runc,
// containerd, Docker and CRI-O, keeps the last value without a word: a
// second "syscalls" list silently replaces the first. Keys match
// case-insensitively, as the decoders match them to fields.
func duplicateKeys(data []byte, out *Issues) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	_ = walkKeys(dec, "", out) // data was decoded before: no error here
}

func walkKeys(dec *json.Decoder, path string, out *Issues) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	d, ok := tok.(json.Delim)
	if !ok {
		return nil // a scalar
	}
	switch d {
	case '{':
		seen := map[string]string{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k, _ := tok.(string)
			field := k
			if path != "" {
				field = path + "." + k
			}
			if first, dup := seen[strings.ToLower(k)]; dup {
				*out = append(*out, Issue{Field: field, Value: k, Severity: SeverityNote,
					Message: fmt.Sprintf("duplicate key (first as %q); runtimes keep the last value and ignore the earlier: keep one", first)})
			} else {
				seen[strings.ToLower(k)] = k
			}
			if err := walkKeys(dec, field, out); err != nil {
				return err
			}
		}
	case '[':
		for i := 0; dec.More(); i++ {
			if err := walkKeys(dec, fmt.Sprintf("%s[%d]", path, i), out); err != nil {
				return err
			}
		}
	}
	_, err = dec.Token() // the closing delimiter
	return err
}
