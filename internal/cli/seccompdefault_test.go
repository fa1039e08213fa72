package cli

import (
	"bytes"
	"strings"
	"testing"
)

// Usage errors of --seccomp-default are exit 2 with a message, before any
// cluster is read.
func TestAuditSeccompDefaultUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seccomp-default", "--runtime", "rkt"}, `--runtime: unknown runtime "rkt"`},
		{[]string{"--seccomp-default", "--runtime", "containerd@1.0"}, "no containerd default for version 1.0"},
		{[]string{"--seccomp-default", "--unconfined"}, "--seccomp-default takes -n and --runtime only"},
		{[]string{"--unconfined", "--runtime", "docker"}, "--runtime is for --seccomp-default"},
	} {
		var out, errOut bytes.Buffer
		code := Execute(append([]string{"audit", "--kubeconfig", "/nonexistent"}, c.args...), strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2, %q", c.args, code, errOut.String(), c.want)
		}
	}
}
