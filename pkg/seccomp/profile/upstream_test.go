package profile

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	moby "github.com/moby/profiles/seccomp"
)

// upstreamProfiles are the default profiles of Docker (testdata copy and the
// module's DefaultProfile), CRI-O/Podman (testdata copy) and containerd
// (its DefaultProfile for a default container on amd64, see testdata/README.md;
// importing containerd here would pull its whole dependency tree into go.sum).
func upstreamProfiles(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, f := range []string{"docker-default.json", "crio-default.json", "containerd-default-amd64.json"} {
		b, err := os.ReadFile("testdata/" + f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = b
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
