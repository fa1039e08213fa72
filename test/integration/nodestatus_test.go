//go:build integration

package integration

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
)

// renderedHash is what an agent installing the profile reports (on a node
// whose runtime takes seccomp flags: render.LogDenials).
func renderedHash(t *testing.T, name string) string {
	t.Helper()
	var sp v1alpha1.SeccompProfile
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &sp); err != nil {
		t.Fatal(err)
	}
	flat, err := render.Flatten(context.Background(), controller.BaseLookup(k8s), &sp)
	if err != nil {
		t.Fatal(err)
	}
	b, err := render.Render(sp.Spec.Mode, flat, render.LogDenials(&sp, true))
	if err != nil {
		t.Fatal(err)
	}
	return render.Hash(b)
}

func nodeState(t *testing.T, node string, states ...v1alpha1.NodeProfileState) *v1alpha1.SeccompNodeStatus {
	t.Helper()
	ns := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.NodeState{Profiles: states}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatalf("create node state %s: %v", node, err)
	}
	t.Cleanup(func() { k8s.Delete(context.Background(), ns) })
	return ns
}

func TestNodeStateAggregation(t *testing.T) {
	ctx := context.Background()
	create(t, newProfile("agg", "", allow("read")))
	ready(t, "agg", metav1.ConditionTrue)
	hash := renderedHash(t, "agg")

	nodeState(t, "node-a", v1alpha1.NodeProfileState{Name: "agg", State: v1alpha1.InstallStateInstalled, ContentHash: hash})
	b := nodeState(t, "node-b", v1alpha1.NodeProfileState{Name: "agg", State: v1alpha1.InstallStateFailed, Message: "read-only file system"})
	// A node that installed an older version does not count.
	nodeState(t, "node-c", v1alpha1.NodeProfileState{Name: "agg", State: v1alpha1.InstallStateInstalled, ContentHash: "sha256:old"})

	key := types.NamespacedName{Name: "agg"}
	eventually(t, "1 of 3 installed, node-b failed", func() bool {
		var sp v1alpha1.SeccompProfile
		if k8s.Get(ctx, key, &sp) != nil {
			return false
		}
		st := sp.Status
		c := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionInstalled)
		return st.NodesInstalled == 1 && st.NodesTotal == 3 && len(st.FailedNodes) == 1 &&
			st.FailedNodes[0] == v1alpha1.NodeFailure{Node: "node-b", Message: "read-only file system"} &&
			c != nil && c.Status == metav1.ConditionFalse && c.Reason == "Failed"
	})

	// node-b recovers; node-c's state is removed with its node.
	b.Status.Profiles[0] = v1alpha1.NodeProfileState{Name: "agg", State: v1alpha1.InstallStateInstalled, ContentHash: hash}
	if err := k8s.Update(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := k8s.Delete(ctx, &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "node-c"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "2 of 2 installed", func() bool {
		var sp v1alpha1.SeccompProfile
		if k8s.Get(ctx, key, &sp) != nil {
			return false
		}
		c := meta.FindStatusCondition(sp.Status.Conditions, v1alpha1.ConditionInstalled)
		return sp.Status.NodesInstalled == 2 && sp.Status.NodesTotal == 2 && len(sp.Status.FailedNodes) == 0 &&
			c != nil && c.Status == metav1.ConditionTrue
	})
}
