package profile

import (
	"encoding/json"
	"strings"
	"testing"

	moby "github.com/moby/profiles/seccomp"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// upstreamProfiles are the runtimes' default profiles (package
// runtimedefault: Docker, CRI-O/Podman and containerd, several versions)
// and moby's DefaultProfile built by the module in go.mod.
func upstreamProfiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, d := range runtimedefault.All() {
		out[d.Ref()] = d.Data()
	}
	b, err := json.Marshal(moby.DefaultProfile())
	if err != nil {
		t.Fatal(err)
	}
	out["moby.DefaultProfile"] = b
	return out
}

func TestUpstreamProfilesValidate(t *testing.T) {
	for name, data := range upstreamProfiles(t) {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			raw := Validate(p)
			if err := raw.Err(); err != nil {
				t.Errorf("raw profile: %v", err)
			}
			t.Logf("raw: %d notes", len(raw.Notes()))
			for _, arch := range []string{"amd64", "arm64"} {
				r, err := Resolve(p, DefaultEnv(arch))
				if err != nil {
					t.Fatalf("resolve %s: %v", arch, err)
				}
				is := Validate(r)
				if err := is.Err(); err != nil {
					t.Errorf("resolved for %s: %v", arch, err)
				}
				var bad []string
				for _, n := range is.Notes() {
					if strings.Contains(n.Message, "conflict") || strings.Contains(n.Message, "duplicate") || strings.Contains(n.Message, "identical") || strings.Contains(n.Message, "differs") {
						bad = append(bad, n.String())
					}
				}
				if len(bad) > 0 {
					t.Errorf("resolved for %s: %d duplicate/conflict notes:\n%s", arch, len(bad), strings.Join(bad, "\n"))
				}
			}
		})
	}
}
