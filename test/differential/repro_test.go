//go:build libseccomp

package differential

import (
	"os"
	"testing"

	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// TestRepro compares the profile in $DIFF_PROFILE (absolute path; e.g. the
// reproducers in testdata/, or one printed by
// the random tests) and lists every disagreement.
func TestRepro(t *testing.T) {
	f := os.Getenv("DIFF_PROFILE")
	if f == "" {
		t.Skip("set DIFF_PROFILE=file.json")
	}
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("Validate: %v", profile.Validate(p))
	ours, err := ourbpf.Compile(p, ourbpf.Options{Arch: native})
	if err != nil {
		t.Fatal(err)
	}
	lib, err := Compile(p, native)
	if err != nil {
		t.Fatal(err)
	}
	ms, st, err := compare(p, ours.Instructions, lib)
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range ms {
		if i < 10 {
			t.Errorf("%s", m)
		}
	}
	t.Logf("%d inputs, %d disagreements", st.inputs, len(ms))
}
