package profile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Parse decodes a seccomp profile in any of the JSON dialects found on
// kubelets' disks: runc's (runtime-spec LinuxSeccomp), containerd's, Docker's
// (archMap, includes/excludes, legacy "name", "comment") and CRI-O's.
//
// Unknown fields are ignored, as runc, Docker and CRI-O ignore them, so a
// profile written for a newer runtime still loads; ParseStrict reports them.
// Errors name the position (line:column, from the byte offset) and, when the
// JSON decoder knows it, the field.
//
// Empty lists are read as absent (nil), so that Parse(Marshal(p)) equals p
// for every p that Parse returned: Marshal omits empty lists.
func Parse(data []byte) (*Profile, error) {
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, fmt.Errorf("parse profile: empty document")
	}
	if trimmed[0] != '{' {
		off := int64(len(data) - len(trimmed))
		return nil, fmt.Errorf("parse profile: %s: want a JSON object, found %s", position(data, off), firstToken(trimmed))
	}
	var p Profile
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parse profile: %w", locate(data, err))
	}
	if err := crioErrnos(data, &p); err != nil {
		return nil, fmt.Errorf("parse profile: %w", err)
	}
	normalize(&p)
	return &p, nil
}

// crioFields are CRI-O's (containers/common) symbolic errno fields:
// "defaultErrno": "ENOSYS" next to defaultErrnoRet, "errno": "EPERM" next
// to a rule's errnoRet. CRI-O uses the name only when the number is absent;
// Parse does the same, so the profile keeps its meaning (the name itself is
// not kept: the model has one errno field).
type crioFields struct {
	DefaultErrno string `json:"defaultErrno"`
	Syscalls     []struct {
		Errno string `json:"errno"`
	} `json:"syscalls"`
}

func crioErrnos(data []byte, p *Profile) error {
	var c crioFields
	if err := json.Unmarshal(data, &c); err != nil {
		return locate(data, err)
	}
	if c.DefaultErrno != "" && p.DefaultErrnoRet == nil {
		v, ok := errnoValue(c.DefaultErrno)
		if !ok {
			return fmt.Errorf("defaultErrno: unknown errno name %q", c.DefaultErrno)
		}
		p.DefaultErrnoRet = &v
	}
	for i, s := range c.Syscalls {
		if s.Errno == "" || i >= len(p.Syscalls) || p.Syscalls[i].ErrnoRet != nil {
			continue
		}
		v, ok := errnoValue(s.Errno)
		if !ok {
			return fmt.Errorf("syscalls[%d].errno: unknown errno name %q", i, s.Errno)
		}
		p.Syscalls[i].ErrnoRet = &v
	}
	return nil
}

// ParseStrict is Parse that also returns a note for every JSON field the
// model does not know (`syscalls[2].nmaes: "nmaes": unknown field, ignored`)
// and for every key given twice in one object (the last one wins):
// runtimes ignore such fields, so a misspelt key silently loses its rule.
// Validate cannot see them (they are not in the Profile), hence this variant.
// Field names match case-insensitively, as encoding/json (and so runc,
// Docker and CRI-O) matches them.
func ParseStrict(data []byte) (*Profile, Issues, error) {
	p, err := Parse(data)
	if err != nil {
		return nil, nil, err
	}
	var raw any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("parse profile: %w", locate(data, err))
	}
	var issues Issues
	unknownFields(raw, "", profileFields, &issues)
	duplicateKeys(data, &issues)
	return p, issues, nil
}

// fieldSet describes the JSON keys of one object type and the shape of the
// values under them, for ParseStrict.
type fieldSet map[string]fieldKind

type fieldKind struct {
	sub  fieldSet // object (or list of objects, when list is set) of this shape
	list bool
}

var (
	filterFields  = fieldSet{"caps": {}, "arches": {}, "minkernel": {}}
	argFields     = fieldSet{"index": {}, "value": {}, "valuetwo": {}, "op": {}}
	archMapFields = fieldSet{"architecture": {}, "subarchitectures": {}}
	syscallFields = fieldSet{
		"names": {}, "name": {}, "action": {}, "errnoret": {}, "comment": {}, "errno": {},
		"args":     {sub: argFields, list: true},
		"includes": {sub: filterFields},
		"excludes": {sub: filterFields},
	}
	profileFields = fieldSet{
		"defaultaction": {}, "defaulterrnoret": {}, "defaulterrno": {}, "architectures": {}, "flags": {},
		"listenerpath": {}, "listenermetadata": {},
		"archmap":  {sub: archMapFields, list: true},
		"syscalls": {sub: syscallFields, list: true},
	}
)

func unknownFields(v any, path string, fields fieldSet, out *Issues) {
	obj, ok := v.(map[string]any)
	if !ok {
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		field := k
		if path != "" {
			field = path + "." + k
		}
		kind, known := fields[strings.ToLower(k)]
		if !known {
			*out = append(*out, Issue{Field: field, Value: k, Message: "unknown field, ignored", Severity: SeverityNote})
			continue
		}
		if kind.sub == nil {
			continue
		}
		if !kind.list {
			unknownFields(obj[k], field, kind.sub, out)
			continue
		}
		list, _ := obj[k].([]any)
		for i, e := range list {
			unknownFields(e, fmt.Sprintf("%s[%d]", field, i), kind.sub, out)
		}
	}
}

// Marshal encodes p as indented JSON (two spaces, fields in the model's
// order, a trailing newline), the form Parse reads back unchanged.
func Marshal(p *Profile) ([]byte, error) {
	if p == nil {
		return nil, fmt.Errorf("marshal profile: nil profile")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// Profiles are read by people; "<" in a comment should stay "<".
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return nil, fmt.Errorf("marshal profile: %w", err)
	}
	return buf.Bytes(), nil
}

// normalize turns empty lists into nil: Marshal omits both, and Parse must
// return the same value for a document and its re-encoding.
func normalize(p *Profile) {
	p.Architectures = nilIfEmpty(p.Architectures)
	p.Flags = nilIfEmpty(p.Flags)
	if len(p.ArchMap) == 0 {
		p.ArchMap = nil
	}
	for i := range p.ArchMap {
		p.ArchMap[i].SubArches = nilIfEmpty(p.ArchMap[i].SubArches)
	}
	if len(p.Syscalls) == 0 {
		p.Syscalls = nil
	}
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		s.Names = nilIfEmpty(s.Names)
		if len(s.Args) == 0 {
			s.Args = nil
		}
		for _, f := range []*Filter{s.Includes, s.Excludes} {
			if f != nil {
				f.Caps = nilIfEmpty(f.Caps)
				f.Arches = nilIfEmpty(f.Arches)
			}
		}
	}
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// locate rewrites encoding/json errors to say where in data they happened.
func locate(data []byte, err error) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		// Offset counts the offending byte: point at it (or at the end,
		// for a truncated document).
		off := syn.Offset - 1
		if strings.Contains(syn.Error(), "unexpected end") {
			off = int64(len(data))
		}
		if strings.Contains(syn.Error(), "after top-level value") {
			// Another JSON value, or garbage, after the profile's closing
			// brace: encoding/json (so runc, containerd, CRI-O) refuses it.
			return fmt.Errorf("%s: content after the end of the profile (%w): runtimes reject the file; a file holds one JSON profile, remove what follows it", position(data, off), err)
		}
		return fmt.Errorf("%s: %w", position(data, off), err)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		// Offset points just past the offending value: name its last byte.
		where := position(data, typ.Offset-1)
		if typ.Field != "" {
			return fmt.Errorf("%s: field %s: cannot use JSON %s as %s", where, typ.Field, typ.Value, typ.Type)
		}
		return fmt.Errorf("%s: cannot use JSON %s as %s", where, typ.Value, typ.Type)
	}
	return err
}

// position turns a byte offset into "line L, column C" (both from 1; the
// column counts bytes).
func position(data []byte, off int64) string {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := bytes.Count(before, []byte{'\n'}) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

func firstToken(b []byte) string {
	end := bytes.IndexAny(b, " \t\r\n,:{}[]")
	switch {
	case end < 0:
		end = len(b)
	case end == 0:
		end = 1
	}
	return fmt.Sprintf("%q", b[:min(end, 20)])
}
