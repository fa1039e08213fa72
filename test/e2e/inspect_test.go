//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/internal/cli"
)

// seccompctl inspect on make up's demo nginx: the filter runc loaded from
// operator/webapp.json (libseccomp's program with runc's -ENOSYS stub in
// front) gives the verdicts of the predefined webapp profile as seccompctl
// compiles it, on every syscall number of every architecture the filter
// checks and on webapp's argument samples. The profile's syscalls the
// runtime could not install must be exactly those the node's libseccomp
// does not know.
func TestInspectDemoNginxEqualsWebapp(t *testing.T) {
	ctx := context.Background()
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace("seccomp-demo"), client.MatchingLabels{"app": "webapp"}); err != nil || len(pods.Items) == 0 {
		t.Fatalf("demo pods: %v (%d)", err, len(pods.Items))
	}
	pid := containerPID(t, pods.Items[0].Status.ContainerStatuses[0].ContainerID)

	var out, errb strings.Builder
	code := cli.Execute([]string{"inspect", strconv.Itoa(pid), "--profile", "webapp", "-o", "json"}, strings.NewReader(""), &out, &errb)
	var res struct {
		Container  string `json:"container"`
		Equal      *bool  `json:"equal"`
		Filters    []struct{ Instructions int }
		Comparison struct {
			Runtime      string   `json:"runtime"`
			Cases        int      `json:"cases"`
			NotInstalled []string `json:"notInstalled"`
			Unchecked    []string `json:"unchecked"`
			ABIs         []struct {
				ABI      string `json:"abi"`
				ArgCases int    `json:"argCases"`
			} `json:"abis"`
		} `json:"comparison"`
		DifferenceText []string `json:"differenceText"`
	}
	if err := json.Unmarshal([]byte(out.String()), &res); err != nil {
		t.Fatalf("inspect %d: exit %d, %v\n%s\n%s", pid, code, err, out.String(), errb.String())
	}
	c := res.Comparison
	if code != 0 || res.Equal == nil || !*res.Equal {
		t.Fatalf("nginx's kernel filter is not proven equal to webapp (exit %d, %d cases, unchecked %v):\n%s", code, c.Cases, c.Unchecked, strings.Join(res.DifferenceText, "\n"))
	}
	if len(res.Filters) != 1 || res.Container == "" || c.Runtime != "runc" {
		t.Errorf("%d filters, container %q, runtime model %q: want runc's one filter in a container", len(res.Filters), res.Container, c.Runtime)
	}
	abis := map[string]bool{}
	for _, a := range c.ABIs {
		abis[a.ABI] = true
	}
	for _, want := range []string{"x86_64", "x86", "x32"} {
		if !abis[want] {
			t.Errorf("ABI %s not compared (compared: %v)", want, c.ABIs)
		}
	}
	t.Logf("proven equal in %d cases on %v; not installed by the runtime: %v", c.Cases, c.ABIs, c.NotInstalled)
	// What the runtime could not install is what the node's libseccomp
	// cannot name.
	if _, err := exec.LookPath("scmp_sys_resolver"); err != nil {
		t.Logf("scmp_sys_resolver absent (Debian package seccomp): not checking %v", c.NotInstalled)
		return
	}
	for _, name := range c.NotInstalled {
		nr, _ := exec.Command("scmp_sys_resolver", "-a", "x86_64", name).Output()
		if strings.TrimSpace(string(nr)) != "-1" {
			t.Errorf("%s reported not installed by the runtime, but the node's libseccomp knows it as %s", name, strings.TrimSpace(string(nr)))
		}
	}
}
