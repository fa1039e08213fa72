package predefined

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// marshalIndent is the stable rendering of the shipped files. It does not
// escape <, > and & so comments stay readable.
func marshalIndent(p *profile.Profile) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("predefined: marshal profile: %w", err)
	}
	return buf.Bytes(), nil
}

// jsonUnmarshalStrict decodes data into v, refusing unknown fields, so a
// shipped file with a field the model (and runtimes) do not know is caught.
func jsonUnmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode profile JSON: %w", err)
	}
	return nil
}
