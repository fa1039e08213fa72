package seccompdefault

import (
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestNodeTarget(t *testing.T) {
	for _, c := range []struct {
		rv, override, against, note, problem string
	}{
		{"containerd://1.6.20", "", "containerd@v1.6.20", "", ""},
		{"containerd://1.6.24", "", "containerd@v1.6.20", "not held: compared with containerd@v1.6.20, the nearest held (its release line's, else the newest older)", ""},
		{"containerd://1.5.0", "", "", "", "older than every version held"},
		{"cri-o://1.28.1", "", "crio@v0.50.1", "the newest held", ""},
		{"docker://24.0.7", "", "docker@v0.3.0", "the newest held", ""},
		{"rkt://1.0", "", "", "", "runtime rkt: no default held for it"},
		{"", "", "", "", "not understood"},
		{"rkt://1.0", "docker@v0.1.0", "docker@v0.1.0", "--runtime docker@v0.1.0 (node runs rkt://1.0)", ""},
		{"containerd://1.6.20", "containerd@9", "", "", "no containerd default for version 9"},
	} {
		got := NodeTarget("n", node(c.rv), c.override)
		if got.Against != c.against || !strings.Contains(got.Note, c.note) || !strings.Contains(got.Problem, c.problem) || (c.problem == "") != (got.Problem == "") {
			t.Errorf("%q --runtime %q: %+v", c.rv, c.override, got)
		}
	}
	if got := NodeTarget("gone", nil, ""); got.Against != "" || !strings.Contains(got.Problem, "node gone not found") {
		t.Errorf("missing node: %+v", got)
	}
	if got := NodeTarget("gone", nil, "crio"); got.Against != "crio@v0.50.1" {
		t.Errorf("missing node, --runtime crio: %+v", got)
	}
}

func TestUnconfined(t *testing.T) {
	for _, c := range []struct {
		declared string
		mode     v1alpha1.SeccompMode
		want     bool
	}{
		{"NodeDefault", v1alpha1.SeccompModeDisabled, true},
		{"NodeDefault", "NotReported", true},
		{"Unconfined", "", true},
		{"NodeDefault", v1alpha1.SeccompModeFilter, false}, // the node's default already filters it
		{"RuntimeDefault", v1alpha1.SeccompModeDisabled, false},
		{"Localhost/operator/webapp.json", v1alpha1.SeccompModeDisabled, false},
	} {
		if got := (Running{Declared: c.declared, Mode: c.mode}).Unconfined(); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.declared, c.mode, got, c.want)
		}
	}
}
