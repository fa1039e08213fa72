//go:build e2e

package e2e

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
)

// make up's demo: Debian's nginx answers through its Service, and every one
// of its processes (the master and the workers it forks) runs under the
// filter, the workers as www-data.
func TestDemoServesHTTPConfined(t *testing.T) {
	ctx := context.Background()
	var svc corev1.Service
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "seccomp-demo", Name: "webapp"}, &svc); err != nil {
		t.Fatalf("the demo's Service (make up creates it): %v", err)
	}
	c := &http.Client{Timeout: 5 * time.Second}
	for i := 0; i < 20; i++ {
		resp, err := c.Get("http://" + svc.Spec.ClusterIP + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "webapp") {
			t.Fatalf("GET /: %s\n%s", resp.Status, body)
		}
	}

	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace("seccomp-demo"), client.MatchingLabels{"app": "webapp"}); err != nil || len(pods.Items) == 0 {
		t.Fatalf("demo pods: %v (%d)", err, len(pods.Items))
	}
	pod := pods.Items[0]
	if sp := pod.Spec.SecurityContext.SeccompProfile; sp == nil || sp.LocalhostProfile == nil || *sp.LocalhostProfile != "operator/webapp.json" {
		t.Fatalf("demo pod's profile: %+v", sp)
	}
	master := containerPID(t, pod.Status.ContainerStatuses[0].ContainerID)
	procs := append([]int{master}, children(t, master)...)
	if len(procs) < 3 {
		t.Fatalf("nginx processes %v: want the master and 2 workers", procs)
	}
	for i, pid := range procs {
		if got := seccompMode(t, pid); got != "2" {
			t.Errorf("nginx process %d: Seccomp: %s, want 2", pid, got)
		}
		if i > 0 {
			if uid := strings.Fields(procStatusField(t, pid, "Uid"))[0]; uid != "33" {
				t.Errorf("nginx worker %d runs as uid %s, want 33 (www-data)", pid, uid)
			}
		}
	}
}

// children lists the PIDs whose parent is pid.
func children(t *testing.T, pid int) []int {
	t.Helper()
	c, err := nodeproc.Children(pid)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
