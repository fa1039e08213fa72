//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/agent"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

// testAgent is one node agent running in the test process, as cmd/agent
// wires it, with its own cache, kubelet root and node name.
type testAgent struct {
	node string
	root string
	// kube is the agent's shared node plumbing (the enricher's too).
	kube *nodekube.Node
	// takesFlags: the agent's runtime takes seccomp flags, so its files
	// carry the operator's SECCOMP_FILTER_FLAG_LOG (render.LogDenials).
	takesFlags bool
}

// startAgent runs an agent for node until the test ends, then deletes its
// node state so later tests see only their own nodes.
func startAgent(t *testing.T, restCfg *rest.Config, node, family string) *testAgent {
	t.Helper()
	return startAgentWith(t, restCfg, node, family, t.TempDir(), nil)
}

// startAgentWith is startAgent with a kubelet root of the test's choosing
// and a hook to configure the reconciler before it runs. Its runtime takes
// seccomp flags (a current runc) unless configure says otherwise.
func startAgentWith(t *testing.T, restCfg *rest.Config, node, family, root string, configure func(*agent.NodeReconciler)) *testAgent {
	t.Helper()
	a := &testAgent{node: node, root: root}
	n, err := nodekube.New(restCfg, node)
	if err != nil {
		t.Fatal(err)
	}
	a.kube = n
	cluster := agent.NewKubeCluster(n)
	r := &agent.NodeReconciler{
		Cluster:           cluster,
		Installer:         &agent.Installer{Root: a.root},
		NodeName:          node,
		Family:            family,
		SeccompFlags:      runtimeflags.Fixed(runtimeflags.Supported),
		MinStatusInterval: 200 * time.Millisecond,
		Log:               ctrl.Log.WithName("agent").WithValues("node", node),
	}
	if configure != nil {
		configure(r)
	}
	a.takesFlags = r.SeccompFlags.Takes()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(ctx, 2*time.Second); err != nil {
			t.Errorf("agent %s: %v", node, err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		_ = k8s.Delete(context.Background(), &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node}})
	})
	return a
}

func (a *testAgent) path(rel string) string { return nodepath.Abs(a.root, rel) }

func (a *testAgent) read(rel string) []byte {
	b, err := os.ReadFile(a.path(rel))
	if err != nil {
		return nil
	}
	return b
}

// rendered is what every node must hold for the profile: its flattened,
// rendered content as the manager computes it (for a runtime that takes
// seccomp flags; renderedFor for either kind).
func rendered(t *testing.T, name string) render.Prepared {
	t.Helper()
	return renderedFor(t, name, true)
}

func renderedFor(t *testing.T, name string, takesFlags bool) render.Prepared {
	t.Helper()
	var sp v1alpha1.SeccompProfile
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &sp); err != nil {
		t.Fatal(err)
	}
	prep, err := render.Prepare(context.Background(), controller.BaseLookup(k8s), &sp, []string{"x86_64"}, takesFlags)
	if err != nil || prep.Problem != "" {
		t.Fatalf("render %s: %v %s", name, err, prep.Problem)
	}
	return prep
}

func nodeEntry(node, profile string) (v1alpha1.NodeProfileState, bool) {
	var ns v1alpha1.SeccompNodeStatus
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: node}, &ns); err != nil {
		return v1alpha1.NodeProfileState{}, false
	}
	return v1alpha1.FindNodeProfileState(ns.Status.Profiles, profile)
}

// waitInstalled waits until every agent holds the profile's current
// rendering on disk and reports it Installed with its hash.
func waitInstalled(t *testing.T, name string, agents ...*testAgent) render.Prepared {
	t.Helper()
	var prep render.Prepared
	eventually(t, name+" installed on every node", func() bool {
		prep = rendered(t, name)
		for _, a := range agents {
			prep := renderedFor(t, name, a.takesFlags)
			if !bytes.Equal(a.read(profilePath(name)), prep.Content) {
				return false
			}
			st, ok := nodeEntry(a.node, name)
			if !ok || st.State != v1alpha1.InstallStateInstalled || st.ContentHash != prep.Hash {
				return false
			}
		}
		return true
	})
	return prep
}

func TestAgentsInstallFlattenedProfiles(t *testing.T) {
	ctx := context.Background()
	agents := []*testAgent{
		startAgent(t, cfg, "agent-1", "x86_64"),
		startAgent(t, cfg, "agent-2", "x86_64"),
		startAgent(t, cfg, "agent-3", "x86_64"),
	}
	create(t, newProfile("agt-base", "", allow("read", "write")))
	create(t, newProfile("agt-child", "agt-base", allow("openat")))
	prep := waitInstalled(t, "agt-child", agents...)
	if !strings.Contains(string(prep.Content), `"read"`) || !strings.Contains(string(prep.Content), `"openat"`) {
		t.Fatalf("installed child is not flattened:\n%s", prep.Content)
	}
	waitInstalled(t, "agt-base", agents...)

	// The manager's aggregation sees the three agents.
	eventually(t, "agt-child Installed on 3 of 3 nodes", func() bool {
		var sp v1alpha1.SeccompProfile
		if k8s.Get(ctx, types.NamespacedName{Name: "agt-child"}, &sp) != nil {
			return false
		}
		return sp.Status.NodesInstalled == 3 && sp.Status.NodesTotal == 3 &&
			meta.IsStatusConditionTrue(sp.Status.Conditions, v1alpha1.ConditionInstalled)
	})

	// A change to the base re-renders the child on every node.
	updateProfile(t, "agt-base", func(sp *v1alpha1.SeccompProfile) { sp.Spec.Syscalls = append(sp.Spec.Syscalls, allow("close")) })
	eventually(t, "base change reaches the child's files", func() bool {
		return strings.Contains(string(agents[2].read(profilePath("agt-child"))), `"close"`)
	})
	waitInstalled(t, "agt-child", agents...)

	// The predefined profiles are installed at both of their paths.
	for _, a := range agents {
		webapp := waitInstalled(t, "webapp", a)
		if got := a.read("profiles/kubernetes/seccomp-k8s-webapp-profile.json"); !bytes.Equal(got, webapp.Content) {
			t.Fatalf("%s: predefined alias path holds %d bytes, want the webapp profile", a.node, len(got))
		}
	}

	// Disabling removes the file (no pod uses it).
	updateProfile(t, "agt-child", func(sp *v1alpha1.SeccompProfile) { sp.Spec.Disabled = true })
	eventually(t, "disabled profile removed from every node", func() bool {
		for _, a := range agents {
			if _, err := os.Stat(a.path(profilePath("agt-child"))); err == nil {
				return false
			}
			if _, ok := nodeEntry(a.node, "agt-child"); ok {
				return false
			}
		}
		return true
	})
}

func TestAgentRepairsDrift(t *testing.T) {
	a := startAgent(t, cfg, "agent-drift", "x86_64")
	create(t, newProfile("agt-drift", "", allow("read")))
	prep := waitInstalled(t, "agt-drift", a)
	p := a.path(profilePath("agt-drift"))

	if err := os.WriteFile(p, []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	eventually(t, "edited file restored", func() bool { return bytes.Equal(a.read(profilePath("agt-drift")), prep.Content) })
	t.Logf("edit repaired in %v", time.Since(start).Round(time.Millisecond))

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	eventually(t, "deleted file restored", func() bool { return bytes.Equal(a.read(profilePath("agt-drift")), prep.Content) })
	t.Logf("deletion repaired in %v", time.Since(start).Round(time.Millisecond))

	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	eventually(t, "mode restored", func() bool {
		st, err := os.Stat(p)
		return err == nil && st.Mode().Perm() == agent.FileMode
	})
}

func TestAgentRefusesWhatItsNodeCannotLoad(t *testing.T) {
	ctx := context.Background()
	x86 := startAgent(t, cfg, "agent-amd64", "x86_64")
	// A node of another architecture family: an x86-only profile cannot
	// be compiled for it, so that node refuses it and says why.
	ppc := startAgent(t, cfg, "agent-ppc64le", "ppc64le")
	sp := newProfile("agt-x86only", "", allow("read"))
	sp.Spec.Architectures = []v1alpha1.Arch{"SCMP_ARCH_X86_64"}
	create(t, sp)
	waitInstalled(t, "agt-x86only", x86)
	eventually(t, "ppc64le node reports the profile Failed", func() bool {
		st, ok := nodeEntry(ppc.node, "agt-x86only")
		return ok && st.State == v1alpha1.InstallStateFailed && strings.Contains(st.Message, "ppc64le")
	})
	if _, err := os.Stat(ppc.path(profilePath("agt-x86only"))); err == nil {
		t.Fatal("the refused profile was installed on the ppc64le node")
	}
	eventually(t, "the profile's status names the failing node", func() bool {
		var got v1alpha1.SeccompProfile
		if k8s.Get(ctx, types.NamespacedName{Name: "agt-x86only"}, &got) != nil {
			return false
		}
		return len(got.Status.FailedNodes) == 1 && got.Status.FailedNodes[0].Node == ppc.node &&
			strings.Contains(got.Status.FailedNodes[0].Message, "refused")
	})
}

func TestAgentDefersRemovalWhilePodUsesProfile(t *testing.T) {
	ctx := context.Background()
	busy := startAgent(t, cfg, "agent-busy", "x86_64")
	idle := startAgent(t, cfg, "agent-idle", "x86_64")
	create(t, newProfile("agt-inuse", "", allow("read")))
	waitInstalled(t, "agt-inuse", busy, idle)

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "uses-profile", Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeName: busy.node,
			Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app",
				SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
					Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/agt-inuse.json")}}}},
		},
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) })

	// Deleting the profile is never blocked (no finalizer) ...
	if err := k8s.Delete(ctx, newProfile("agt-inuse", "")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "profile object gone at once", func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, types.NamespacedName{Name: "agt-inuse"}, &v1alpha1.SeccompProfile{}))
	})
	// ... the idle node removes the file, the busy node keeps it and says why.
	eventually(t, "removed on the idle node, Removing on the busy one", func() bool {
		_, errIdle := os.Stat(idle.path(profilePath("agt-inuse")))
		st, ok := nodeEntry(busy.node, "agt-inuse")
		return os.IsNotExist(errIdle) && ok && st.State == v1alpha1.InstallStateRemoving &&
			strings.Contains(st.Message, "default/uses-profile")
	})
	if busy.read(profilePath("agt-inuse")) == nil {
		t.Fatal("the busy node removed a profile its pod still references")
	}
	// Once the pod is gone, so is the file.
	if err := k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "file removed after the pod ended", func() bool {
		_, err := os.Stat(busy.path(profilePath("agt-inuse")))
		_, listed := nodeEntry(busy.node, "agt-inuse")
		return os.IsNotExist(err) && !listed
	})
}

func TestAgentIdleMakesNoWrites(t *testing.T) {
	ctx := context.Background()
	a := startAgent(t, cfg, "agent-quiet", "x86_64")
	create(t, newProfile("agt-quiet", "", allow("read")))
	waitInstalled(t, "agt-quiet", a)
	waitInstalled(t, "webapp", a)
	time.Sleep(time.Second) // let the last status write settle
	var before v1alpha1.SeccompNodeStatus
	if err := k8s.Get(ctx, types.NamespacedName{Name: a.node}, &before); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(a.path(profilePath("agt-quiet")))
	if err != nil {
		t.Fatal(err)
	}
	// Three resync periods: each is a full pass over files and state.
	time.Sleep(3 * 2 * time.Second)
	var after v1alpha1.SeccompNodeStatus
	if err := k8s.Get(ctx, types.NamespacedName{Name: a.node}, &after); err != nil {
		t.Fatal(err)
	}
	if after.ResourceVersion != before.ResourceVersion {
		t.Fatalf("node state rewritten while nothing changed: resourceVersion %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
	st2, err := os.Stat(a.path(profilePath("agt-quiet")))
	if err != nil {
		t.Fatal(err)
	}
	if !st2.ModTime().Equal(st.ModTime()) || !os.SameFile(st, st2) {
		t.Fatal("profile file rewritten while nothing changed")
	}
	if leftovers, _ := filepath.Glob(filepath.Join(a.root, "seccomp", "*", agent.TempPrefix+"*")); len(leftovers) > 0 {
		t.Fatalf("temporary files left: %v", leftovers)
	}
}

// updateProfile changes the spec of profile name, reading it again when the
// manager's status write came in between (a conflict).
func updateProfile(t *testing.T, name string, change func(*v1alpha1.SeccompProfile)) {
	t.Helper()
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var sp v1alpha1.SeccompProfile
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &sp); err != nil {
			return err
		}
		change(&sp)
		return k8s.Update(context.Background(), &sp)
	}); err != nil {
		t.Fatalf("update profile %s: %v", name, err)
	}
}
