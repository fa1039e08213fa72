package profile

import (
	"errors"
	"fmt"
	"strings"
)

// Severity says whether an Issue makes a profile unusable.
type Severity string

const (
	// SeverityError: runtimes (or our compiler) would reject the profile,
	// or it would not mean what it says.
	SeverityError Severity = "error"
	// SeverityNote: legal but worth knowing (a rule skipped on one ABI,
	// a duplicate, an ignored field).
	SeverityNote Severity = "note"
)

// Issue is one problem found in a profile. Field is the JSON path of the
// offending value (`syscalls[3].names[1]`), Value the value as written.
type Issue struct {
	Field    string   `json:"field"`
	Value    string   `json:"value,omitempty"`
	Message  string   `json:"message"`
	Severity Severity `json:"severity"`
}

// String formats the issue as `syscalls[3].names[1]: "fooo": unknown syscall
// on x86_64, aarch64`; the value part is left out when the value is absent.
func (i Issue) String() string {
	if i.Value == "" {
		return fmt.Sprintf("%s: %s", i.Field, i.Message)
	}
	return fmt.Sprintf("%s: %q: %s", i.Field, i.Value, i.Message)
}

// Issues is the result of Validate, in profile order.
type Issues []Issue

// Errors returns the issues of SeverityError.
func (is Issues) Errors() Issues { return is.filter(SeverityError) }

// Notes returns the issues of SeverityNote.
func (is Issues) Notes() Issues { return is.filter(SeverityNote) }

func (is Issues) filter(s Severity) Issues {
	var out Issues
	for _, i := range is {
		if i.Severity == s {
			out = append(out, i)
		}
	}
	return out
}

// Err returns nil when there is no error, else one error listing every
// error-severity issue, one per line.
func (is Issues) Err() error {
	errs := is.Errors()
	if len(errs) == 0 {
		return nil
	}
	lines := make([]string, len(errs))
	for i, e := range errs {
		lines[i] = e.String()
	}
	if len(lines) == 1 {
		return errors.New("invalid profile: " + lines[0])
	}
	return fmt.Errorf("invalid profile: %d errors:\n%s", len(lines), strings.Join(lines, "\n"))
}
