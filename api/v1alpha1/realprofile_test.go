package v1alpha1

import (
	"encoding/json"
	"testing"

	mobyseccomp "github.com/moby/profiles/seccomp"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// TestDockerDefaultRoundTrips converts Docker's default profile, reduced to
// what a resolved amd64 profile looks like (its unconditional rules), into a
// spec, through JSON as the apiserver stores it, and back.
func TestDockerDefaultRoundTrips(t *testing.T) {
	data, err := json.Marshal(mobyseccomp.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	var p profile.Profile
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("docker default profile as profile.Profile: %v", err)
	}
	p.ArchMap = nil
	p.Architectures = []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}
	var rules []profile.Syscall
	withArgs := 0
	for _, r := range p.Syscalls {
		if r.Includes.IsEmpty() && r.Excludes.IsEmpty() {
			r.Includes, r.Excludes = nil, nil
			rules = append(rules, r)
			if len(r.Args) > 0 {
				withArgs++
			}
		}
	}
	if len(rules) == 0 || withArgs == 0 {
		t.Fatalf("docker default profile has %d unconditional rules, %d with args: test would prove nothing", len(rules), withArgs)
	}
	p.Syscalls = rules

	spec := SpecFromProfile(&p)
	stored, err := json.Marshal(&SeccompProfile{Spec: spec})
	if err != nil {
		t.Fatal(err)
	}
	var back SeccompProfile
	if err := json.Unmarshal(stored, &back); err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(back.Spec.ToProfile())
	want, _ := json.Marshal(&p)
	if string(got) != string(want) {
		t.Fatalf("docker default profile changed in the round trip:\n got %s\nwant %s", got, want)
	}
}
