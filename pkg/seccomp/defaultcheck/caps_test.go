package defaultcheck

import (
	"slices"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func TestBoundingCaps(t *testing.T) {
	base := profile.DefaultCaps
	for _, c := range []struct {
		name      string
		add, drop []string
		has, not  []string
		n         int
	}{
		{"default", nil, nil, []string{"CAP_CHOWN", "CAP_NET_RAW"}, []string{"CAP_SYS_ADMIN"}, len(base)},
		{"add", []string{"SYS_ADMIN"}, nil, []string{"CAP_SYS_ADMIN", "CAP_CHOWN"}, nil, len(base) + 1},
		{"drop one", nil, []string{"net_raw"}, []string{"CAP_CHOWN"}, []string{"CAP_NET_RAW"}, len(base) - 1},
		{"drop ALL, add one", []string{"NET_BIND_SERVICE"}, []string{"ALL"}, []string{"CAP_NET_BIND_SERVICE"}, []string{"CAP_CHOWN"}, 1},
		{"add ALL", []string{"ALL"}, []string{"CHOWN"}, []string{"CAP_SYS_ADMIN", "CAP_BPF"}, nil, len(AllCaps())},
	} {
		got := BoundingCaps(base, c.add, c.drop)
		for _, h := range c.has {
			if !slices.Contains(got, h) {
				t.Errorf("%s: %v lacks %s", c.name, got, h)
			}
		}
		for _, h := range c.not {
			if slices.Contains(got, h) {
				t.Errorf("%s: %v has %s", c.name, got, h)
			}
		}
		if len(got) != c.n {
			t.Errorf("%s: %d caps %v, want %d", c.name, len(got), got, c.n)
		}
	}
}
