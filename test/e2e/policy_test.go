//go:build e2e

package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A namespace at Pod Security "restricted" and a SeccompPolicy whose
// default is an operator profile: a pod that sets no seccomp profile is
// admitted (restricted alone rejects it), runs under the default (the
// kernel says Seccomp: 2 and the profile's denial is felt), a container
// with a profile the policy does not allow, or with one that does not
// exist, is refused, and with the manager scaled to zero the apiserver
// keeps doing all of it by itself.
func TestPolicyDefaultInRestrictedNamespace(t *testing.T) {
	ctx := context.Background()
	suffix := rand.String(5)
	profile := "e2e-policy-" + suffix
	createProfile(t, denyMkdir(profile))
	waitInstalled(t, profile, 60*time.Second)

	nsName := "seccomp-e2e-restricted-" + suffix
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "seccomp-e2e-policy": suffix,
	}}}
	if err := k8s.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), nsObj) })

	plain := func(name string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: nsName},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](1),
				SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532)},
				Containers: []corev1.Container{{
					Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent,
					SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptr.To(false),
						Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					},
				}},
			},
		}
	}
	if err := k8s.Create(ctx, plain("before"), client.DryRunAll); err == nil || !strings.Contains(err.Error(), "seccompProfile") {
		t.Fatalf("restricted without a policy should reject the pod for its seccomp profile: %v", err)
	}

	pol := &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-restricted-" + suffix},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-e2e-policy": suffix}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: profile},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"e2e-policy-*", "RuntimeDefault"},
			Mode:              v1alpha1.PolicyModeEnforce,
		},
	}
	if err := k8s.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), pol)) })
	eventually(t, 30*time.Second, "policy Ready", func() bool {
		return k8s.Get(ctx, client.ObjectKeyFromObject(pol), pol) == nil &&
			meta.IsStatusConditionTrue(pol.Status.Conditions, v1alpha1.ConditionReady)
	})
	// The apiserver loads admission policies asynchronously.
	eventually(t, 30*time.Second, "the default applied at admission", func() bool {
		p := plain("probe")
		return k8s.Create(ctx, p, client.DryRunAll) == nil && p.Spec.SecurityContext.SeccompProfile != nil
	})

	pod := plain("defaulted")
	pid := startPod(t, pod)
	if sp := pod.Spec.SecurityContext.SeccompProfile; sp == nil || sp.Type != corev1.SeccompProfileTypeLocalhost || *sp.LocalhostProfile != "operator/"+profile+".json" {
		t.Fatalf("admitted pod's profile: %+v", sp)
	}
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("defaulted pod: Seccomp: %s, want 2", got)
	}
	if got := execProbeIn(t, nsName, pod.Name, "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir in the defaulted pod: %q, want EPERM (the default profile denies it)", got)
	}

	// Restricted itself refuses Unconfined; a Localhost profile the policy
	// does not allow is ours to refuse.
	unconfined := plain("not-allowed")
	unconfined.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/webapp.json")}
	var err error
	eventually(t, 30*time.Second, "a profile the policy does not allow refused, naming the container and profile", func() bool {
		err = k8s.Create(ctx, unconfined.DeepCopy(), client.DryRunAll)
		return err != nil && strings.Contains(err.Error(), "container probe: localhost/operator/webapp.json")
	})
	t.Logf("refused: %v", err)

	// An allowed name whose profile does not exist: refused at admission
	// with a message saying so, instead of a pod stuck in
	// ContainerCreating.
	missing := plain("missing")
	missing.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/e2e-policy-nowhere.json")}
	if err := k8s.Create(ctx, missing, client.DryRunAll); err == nil || !strings.Contains(err.Error(), "no SeccompProfile e2e-policy-nowhere exists") {
		t.Errorf("a pod naming a profile that does not exist: %v", err)
	}

	// The manager scaled to zero: the apiserver still defaults and judges.
	scaleManager(t, 0)
	t.Cleanup(func() { scaleManager(t, managerReplicas); waitOperatorReady(t) })
	p := plain("manager-down")
	if err := k8s.Create(ctx, p, client.DryRunAll); err != nil || p.Spec.SecurityContext.SeccompProfile == nil {
		t.Errorf("with the manager down: %v, profile %+v", err, p.Spec.SecurityContext.SeccompProfile)
	}
	if err := k8s.Create(ctx, unconfined.DeepCopy(), client.DryRunAll); err == nil {
		t.Error("with the manager down, a profile the policy does not allow was admitted")
	}
}

// scaleManager sets the manager Deployment's replicas and waits until that
// many manager pods exist.
func scaleManager(t *testing.T, n int32) {
	t.Helper()
	ctx := context.Background()
	var d appsv1.Deployment
	key := client.ObjectKey{Namespace: operatorNS, Name: "seccomp-operator-manager"}
	if err := k8s.Get(ctx, key, &d); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(d.DeepCopy())
	d.Spec.Replicas = ptr.To(n)
	if err := k8s.Patch(ctx, &d, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "manager pods scaled", func() bool {
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace(operatorNS), client.MatchingLabels{"app.kubernetes.io/name": "seccomp-operator-manager"}); err != nil {
			return false
		}
		return int32(len(pods.Items)) == n
	})
}

// The plain nginx case: Debian's nginx in a Pod Security "restricted"
// namespace, the pod saying nothing about seccomp, a policy whose default is
// the predefined webapp profile. It is admitted, serves HTTP, and every
// nginx process runs under the filter.
func TestPolicyPlainNginxInRestrictedNamespace(t *testing.T) {
	ctx := context.Background()
	suffix := rand.String(5)
	nsName := "seccomp-e2e-nginx-" + suffix
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "seccomp-e2e-nginx": suffix,
	}}}
	if err := k8s.Create(ctx, nsObj); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), nsObj) })
	pol := &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-nginx-" + suffix},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-e2e-nginx": suffix}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "webapp"},
		},
	}
	if err := k8s.Create(ctx, pol); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), pol)) })

	nginx := func() *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "nginx", Namespace: nsName},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](1),
				SecurityContext:               &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](65532)},
				Containers: []corev1.Container{{
					Name: "nginx", Image: "seccomp-operator/demo-nginx:dev", ImagePullPolicy: corev1.PullIfNotPresent,
					Args:  []string{"-c", "/etc/nginx/nginx-unprivileged.conf"},
					Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
						Path: "/", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 1},
					SecurityContext: &corev1.SecurityContext{
						AllowPrivilegeEscalation: ptr.To(false),
						Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
					},
				}},
			},
		}
	}
	eventually(t, 30*time.Second, "the policy's default applied at admission", func() bool {
		p := nginx()
		return k8s.Create(ctx, p, client.DryRunAll) == nil && p.Spec.SecurityContext.SeccompProfile != nil
	})
	pod := nginx()
	master := startPod(t, pod)
	if sp := pod.Spec.SecurityContext.SeccompProfile; sp == nil || sp.LocalhostProfile == nil || *sp.LocalhostProfile != "operator/webapp.json" {
		t.Fatalf("nginx pod's profile: %+v", sp)
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + pod.Status.PodIP + ":8080/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /: %s", resp.Status)
	}
	procs := append([]int{master}, children(t, master)...)
	if len(procs) < 3 {
		t.Errorf("nginx processes %v: want the master and 2 workers", procs)
	}
	for _, pid := range procs {
		if got := seccompMode(t, pid); got != "2" {
			t.Errorf("nginx process %d: Seccomp: %s, want 2", pid, got)
		}
	}
}
