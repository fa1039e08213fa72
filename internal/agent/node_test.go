package agent

import (
	"context"
	"os"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// A predefined profile that loses its label keeps its operator/ file; its
// alias file stays while a pod uses it; the node state still has exactly one
// entry for the profile. (The cluster paths are in test/integration.)
func TestNodeStateHasOneEntryPerProfile(t *testing.T) {
	ctx := context.Background()
	scheme := runtime.NewScheme()
	_ = corev1.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	p, ok := predefined.Get("webapp")
	if !ok {
		t.Fatal("no webapp profile")
	}
	sp := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "webapp", Labels: map[string]string{v1alpha1.LabelPredefined: "true"}, ResourceVersion: "1"},
		Spec:       v1alpha1.SpecFromProfile(p.Profile),
	}
	alias := nodepath.PredefinedAliasPath(p.File)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(alias)}}}}},
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(sp, pod).Build()
	r := &NodeReconciler{Client: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	pass := func() v1alpha1.SeccompNodeStatus {
		t.Helper()
		r.lastWrite = r.lastWrite.AddDate(-1, 0, 0) // no rate limit in this test
		if _, err := r.Reconcile(ctx, reconcile.Request{}); err != nil {
			t.Fatal(err)
		}
		var ns v1alpha1.SeccompNodeStatus
		if err := c.Get(ctx, types.NamespacedName{Name: "n1"}, &ns); err != nil {
			t.Fatal(err)
		}
		return ns
	}
	ns := pass()
	if len(ns.Status.Profiles) != 1 || ns.Status.Profiles[0].State != v1alpha1.InstallStateInstalled {
		t.Fatalf("state %+v", ns.Status.Profiles)
	}
	for _, rel := range []string{nodepath.ProfilePath("webapp"), alias} {
		if _, err := os.Stat(nodepath.Abs(r.Installer.Root, rel)); err != nil {
			t.Fatalf("%s not installed: %v", rel, err)
		}
	}

	var cur v1alpha1.SeccompProfile
	if err := c.Get(ctx, types.NamespacedName{Name: "webapp"}, &cur); err != nil {
		t.Fatal(err)
	}
	delete(cur.Labels, v1alpha1.LabelPredefined)
	if err := c.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	ns = pass()
	if len(ns.Status.Profiles) != 1 || ns.Status.Profiles[0].Name != "webapp" || ns.Status.Profiles[0].State != v1alpha1.InstallStateInstalled {
		t.Fatalf("want one Installed entry for webapp, got %+v", ns.Status.Profiles)
	}
	if _, err := os.Stat(nodepath.Abs(r.Installer.Root, alias)); err != nil {
		t.Fatalf("alias removed under a running pod: %v", err)
	}

	// The pod ends: the alias goes.
	if err := c.Delete(ctx, pod); err != nil {
		t.Fatal(err)
	}
	pass()
	if _, err := os.Stat(nodepath.Abs(r.Installer.Root, alias)); !os.IsNotExist(err) {
		t.Fatalf("alias still there after the pod ended: %v", err)
	}
}
