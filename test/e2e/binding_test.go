//go:build e2e

package e2e

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A ProfileBinding by image confines a pod that names no profile: the
// kernel enforces the bound profile (Seccomp: 2, mkdir denied). A binding by
// label to a profile that does not exist refuses the pods it would bind,
// saying which, and reports it in its status.
func TestProfileBindingConfinesByImage(t *testing.T) {
	ctx := context.Background()
	suffix := rand.String(5)
	nsName := "seccomp-e2e-bind-" + suffix
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}}
	if err := k8s.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), nsObj) })
	prof := denyMkdir("e2e-bind-" + suffix)
	createProfile(t, prof)
	waitInstalled(t, prof.Name, 60*time.Second)

	bindings := []*v1alpha1.ProfileBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "probe-image", Namespace: nsName}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: prof.Name, Images: []string{"seccomp-operator/e2e-probe:*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "legacy-apps", Namespace: nsName}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "e2e-nowhere-" + suffix, Priority: 10,
			PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}}}},
	}
	for _, b := range bindings {
		if err := k8s.Create(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 30*time.Second, "the missing profile in legacy-apps' status", func() bool {
		var b v1alpha1.ProfileBinding
		if k8s.Get(ctx, client.ObjectKeyFromObject(bindings[1]), &b) != nil {
			return false
		}
		c := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionProfileInstalled)
		return meta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionReady) && c != nil &&
			c.Status == metav1.ConditionFalse && c.Reason == "ProfileMissing"
	})

	plain := func(name string, labels map[string]string) *corev1.Pod {
		p := probePod(name, "")
		p.Namespace, p.Labels = nsName, labels
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		return p
	}
	eventually(t, 30*time.Second, "the binding applied at admission", func() bool {
		p := plain("dry", nil)
		return k8s.Create(ctx, p, client.DryRunAll) == nil && p.Spec.Containers[0].SecurityContext.SeccompProfile != nil
	})
	pod := plain("bound", nil)
	pid := startPod(t, pod)
	if sp := pod.Spec.Containers[0].SecurityContext.SeccompProfile; sp == nil || sp.LocalhostProfile == nil || *sp.LocalhostProfile != "operator/"+prof.Name+".json" {
		t.Fatalf("the bound container's profile: %+v", sp)
	}
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("bound container: Seccomp: %s, want 2", got)
	}
	if got := execProbeIn(t, nsName, "bound", "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir under the bound profile: %q, want EPERM", got)
	}

	// The apiserver loads the validating policy on its own, possibly after
	// the mutating one the wait above saw: wait for the refusal too.
	want := "container probe: ProfileBinding legacy-apps binds SeccompProfile e2e-nowhere-" + suffix + ", which does not exist"
	var err error
	eventually(t, 30*time.Second, "a pod bound to a missing profile refused", func() bool {
		err = k8s.Create(ctx, plain("legacy", map[string]string{"app": "legacy"}), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), want)
	})
	if err = k8s.Create(ctx, plain("legacy", map[string]string{"app": "legacy"})); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("a pod bound to a missing profile: %v", err)
	}
}

// A Deployment whose pod template a SeccompPolicy in enforce mode would
// refuse is created, with a warning naming the container, its profile and
// what is allowed: the user learns at apply time, not from a ReplicaSet's
// events.
func TestDeploymentTemplateWarnedAtApply(t *testing.T) {
	ctx := context.Background()
	suffix := rand.String(5)
	nsName := "seccomp-e2e-tmpl-" + suffix
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Labels: map[string]string{"seccomp-e2e-tmpl": suffix}}}
	if err := k8s.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), nsObj) })
	pol := &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-tmpl-" + suffix},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-e2e-tmpl": suffix}},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
		},
	}
	if err := k8s.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), pol)) })

	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	w := &warnings{}
	cfg.WarningHandler = w
	wc, err := client.New(cfg, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	dep := func(name string) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: nsName, Name: name},
			Spec: appsv1.DeploymentSpec{
				Replicas: ptr.To[int32](1),
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": name}},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": name}},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent}}},
				},
			},
		}
	}
	want := "for the pods of this Deployment: seccomp profile not allowed for container web: Unconfined (sets no profile: the node default) (allowed: RuntimeDefault)"
	var got []string
	eventually(t, 30*time.Second, "the template warning", func() bool {
		got = nil
		err := wc.Create(ctx, dep("dry"), client.DryRunAll)
		got = w.take()
		return err == nil && len(got) == 1 && strings.Contains(got[0], want)
	})
	d := dep("web")
	if err := wc.Create(ctx, d); err != nil {
		t.Fatalf("the Deployment itself must be admitted: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), d) })
	if got := w.take(); len(got) != 1 || !strings.Contains(got[0], want) {
		t.Errorf("warnings at apply: %q", got)
	}
	// And the pods it makes are what enforce refuses, as the warning said.
	eventually(t, 60*time.Second, "the ReplicaSet's refused pod", func() bool {
		var rs appsv1.ReplicaSetList
		if k8s.List(ctx, &rs, client.InNamespace(nsName)) != nil || len(rs.Items) == 0 {
			return false
		}
		c := rs.Items[0].Status.Conditions
		return len(c) > 0 && c[0].Type == appsv1.ReplicaSetReplicaFailure && strings.Contains(c[0].Message, "seccomp profile not allowed for container web")
	})
}

// warnings collects the apiserver's warning headers.
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, msg)
}

func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.msgs
	w.msgs = nil
	return out
}
