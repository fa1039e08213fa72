//go:build e2e

package e2e

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
)

// The manager forced onto the fallback webhook (--admission=webhook) on the
// real cluster: the native admission policies go, the webhook configuration
// comes with the CA of the Secret-kept certificate, and the apiserver
// reaches the webhook through the Service: a plain pod in a PSA-restricted
// namespace is admitted with the default and runs confined, Unconfined is
// refused with the policy's message. With the manager scaled to zero the
// governed namespace fails closed while kube-system still creates and a
// running pod is still deleted. Back on auto, the native policies return.
func TestFallbackWebhookOnTheRealCluster(t *testing.T) {
	ctx := context.Background()
	suffix := rand.String(5)
	nsName := "seccomp-e2e-fallback-" + suffix
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "seccomp-e2e-fallback": suffix}}}
	if err := k8s.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), nsObj) })
	pol := &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-fallback-" + suffix},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-e2e-fallback": suffix}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
		},
	}
	if err := k8s.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), pol)) })

	setManagerArg(t, "--admission=webhook")
	t.Cleanup(func() {
		setManagerArg(t, "")
		waitOperatorReady(t)
		eventually(t, 60*time.Second, "the native policies back", func() bool {
			var m admissionv1.MutatingAdmissionPolicy
			return k8s.Get(context.Background(), client.ObjectKey{Name: policy.MutatingName(pol.Name)}, &m) == nil
		})
	})
	waitOperatorReady(t)
	eventually(t, 60*time.Second, "the webhook configuration with its CA and no native policy", func() bool {
		var cfg admissionv1.MutatingWebhookConfiguration
		var m admissionv1.MutatingAdmissionPolicy
		return k8s.Get(ctx, client.ObjectKey{Name: pods.DefaultConfigName}, &cfg) == nil && len(cfg.Webhooks) >= 2 &&
			len(cfg.Webhooks[0].ClientConfig.CABundle) > 0 &&
			client.IgnoreNotFound(k8s.Get(ctx, client.ObjectKey{Name: policy.MutatingName(pol.Name)}, &m)) == nil && m.Name == ""
	})

	plain := func(name string) *corev1.Pod {
		p := probePod(name, "")
		p.Namespace = nsName
		p.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532)}
		p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
		p.Spec.Containers[0].SecurityContext.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
		return p
	}
	eventually(t, 60*time.Second, "the webhook defaulting through the Service", func() bool {
		p := plain("dry")
		return k8s.Create(ctx, p, client.DryRunAll) == nil && p.Spec.SecurityContext.SeccompProfile != nil
	})
	pod := plain("defaulted")
	pid := startPod(t, pod)
	if sp := pod.Spec.SecurityContext.SeccompProfile; sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("pod-level profile written by the webhook: %+v", sp)
	}
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("defaulted pod: Seccomp: %s, want 2", got)
	}
	unconfined := plain("unconfined")
	unconfined.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	err := k8s.Create(ctx, unconfined, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), `admission webhook "`+pol.Name+`.policy.pods.seccomp-operator.dev" denied the request: SeccompPolicy `+pol.Name+": seccomp profile not allowed for container probe: Unconfined") {
		t.Errorf("Unconfined through the webhook: %v", err)
	}

	// The manager down: fail closed where a policy governs, nowhere else;
	// deletes always work.
	scaleManager(t, 0)
	t.Cleanup(func() { scaleManager(t, managerReplicas) })
	eventually(t, 30*time.Second, "the governed namespace failing closed", func() bool {
		err := k8s.Create(ctx, plain("while-down"), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "failed calling webhook")
	})
	sys := probePod("while-down", "")
	sys.Namespace = "kube-system"
	sys.Spec.Containers[0].SecurityContext.SeccompProfile = nil
	if err := k8s.Create(ctx, sys, client.DryRunAll); err != nil {
		t.Errorf("kube-system with the webhook down: %v", err)
	}
	deletePod(t, nsName, pod.Name)
}

// setManagerArg adds arg to the manager container's arguments (or, with
// "", removes the one added) and waits for the rollout to begin.
func setManagerArg(t *testing.T, arg string) {
	t.Helper()
	ctx := context.Background()
	var d appsv1.Deployment
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: operatorNS, Name: "seccomp-operator-manager"}, &d); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	c := &d.Spec.Template.Spec.Containers[0]
	c.Args = slices.DeleteFunc(c.Args, func(a string) bool { return strings.HasPrefix(a, "--admission=") })
	if arg != "" {
		c.Args = append(c.Args, arg)
	}
	if err := k8s.Patch(ctx, &d, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the manager rollout started", func() bool {
		var cur appsv1.Deployment
		return k8s.Get(ctx, client.ObjectKeyFromObject(&d), &cur) == nil && cur.Status.ObservedGeneration >= cur.Generation
	})
}
