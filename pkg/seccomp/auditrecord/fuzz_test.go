package auditrecord

import (
	"errors"
	"testing"
)

// FuzzParseRecord (not FuzzParse: make fuzz finds a target by its name, and
// pkg/seccomp/profile has a FuzzParse): Parse never panics, every error is ErrNotSeccomp or names a
// field, and a record that parses renders (String) to a payload that parses
// back to the same record.
func FuzzParseRecord(f *testing.F) {
	f.Add([]byte(payload))
	f.Add([]byte("type=SECCOMP msg=" + payload))
	f.Add([]byte("[ 5478.670887] audit: type=1326 " + payload))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := Parse(b)
		if err != nil {
			var fe *FieldError
			if !errors.Is(err, ErrNotSeccomp) && !errors.As(err, &fe) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		_ = r.Action()
		_, _ = r.SyscallName()
		s := r.String()
		back, err := Parse([]byte(s))
		if err != nil {
			t.Fatalf("%q parsed as %+v, whose String %q does not parse: %v", b, r, s, err)
		}
		if r.Time.IsZero() {
			back.Time = r.Time // String writes a zero time as the epoch
		}
		if !equal(back, r) {
			t.Fatalf("%q parsed as\n%+v\nbut its String %q as\n%+v", b, r, s, back)
		}
	})
}
