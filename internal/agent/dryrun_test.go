package agent

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// nodeCluster is a memCluster whose Node exists.
type nodeCluster struct {
	*memCluster
	node *corev1.Node
}

func (c *nodeCluster) Node(context.Context) (*corev1.Node, error) { return c.node.DeepCopy(), nil }

// Every node installs its own runtime default as the dry-run profile, at
// the one path, and says in its state what it was built from; a runtime
// upgraded in place is seen at the next read of the Node; a node whose
// runtime has no default held installs none and says why.
func TestNodeInstallsItsDryRunProfile(t *testing.T) {
	ctx := context.Background()
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{
		ContainerRuntimeVersion: "containerd://1.6.20", Architecture: "amd64", KernelVersion: "6.1.0"}}}
	c := &nodeCluster{memCluster: &memCluster{}, node: n}
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	pass := func() (*profile.Profile, string) {
		t.Helper()
		r.lastWrite = r.lastWrite.AddDate(-1, 0, 0)
		if _, err := r.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		about := c.state.Status.Runtime.DryRunProfile
		b, err := os.ReadFile(nodepath.Abs(r.Installer.Root, nodepath.DryRunPath))
		if err != nil {
			return nil, about
		}
		p, err := profile.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return p, about
	}
	p, about := pass()
	if p == nil || p.DefaultAction != profile.ActLog || !strings.Contains(about, "containerd@v1.6.20, amd64, kernel 6.1.0, no capabilities") {
		t.Fatalf("profile %v, about %q", p, about)
	}
	for _, s := range p.Syscalls {
		if s.Action != profile.ActAllow && s.Action != profile.ActLog {
			t.Errorf("%v: %s, want only ALLOW and LOG", s.Names, s.Action)
		}
	}

	c.node.Status.NodeInfo.ContainerRuntimeVersion = "containerd://2.1.9"
	if _, about = pass(); !strings.Contains(about, "containerd@v1.6.20") {
		t.Errorf("the Node read again before dryRunRefresh: %q", about)
	}
	r.dryRun.next = time.Time{}
	if _, about = pass(); !strings.Contains(about, "containerd@v2.1.9") {
		t.Errorf("after a refresh: %q, want containerd@v2.1.9", about)
	}

	other := &nodeCluster{memCluster: &memCluster{}, node: n.DeepCopy()}
	other.node.Status.NodeInfo.ContainerRuntimeVersion = "gvisor://1.0"
	r2 := &NodeReconciler{Cluster: other, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	if _, err := r2.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(nodepath.Abs(r2.Installer.Root, nodepath.DryRunPath)); !os.IsNotExist(err) {
		t.Errorf("a profile installed for an unknown runtime: %v", err)
	}
	if got := other.state.Status.Runtime.DryRunProfile; !strings.HasPrefix(got, "not installed: ") || !strings.Contains(got, "gvisor") {
		t.Errorf("about %q, want why it is not installed", got)
	}
}
