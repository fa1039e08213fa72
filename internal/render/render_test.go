package render

import (
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func TestRenderModes(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{{Names: []string{"read"}, Action: profile.ActAllow}}}
	enforce, err := Render(v1alpha1.ModeEnforce, p, false)
	if err != nil {
		t.Fatal(err)
	}
	complain, err := Render(v1alpha1.ModeComplain, p, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(enforce), `"defaultAction": "SCMP_ACT_ERRNO"`) || !strings.Contains(string(complain), `"defaultAction": "SCMP_ACT_LOG"`) {
		t.Errorf("enforce:\n%s\ncomplain:\n%s", enforce, complain)
	}
	if p.DefaultAction != profile.ActErrno {
		t.Error("Render modified its input")
	}
	if Hash(enforce) == Hash(complain) || !strings.HasPrefix(Hash(enforce), "sha256:") || len(Hash(enforce)) != 7+64 {
		t.Errorf("hashes %s %s", Hash(enforce), Hash(complain))
	}
}
