//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// policyNamespace creates a namespace with labels, deleted after the test.
func policyNamespace(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := k8s.Create(context.Background(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ns) })
}

func createPolicy(t *testing.T, p *v1alpha1.SeccompPolicy) {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Create(ctx, p); err != nil {
		t.Fatalf("create policy %s: %v", p.Name, err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(ctx, p)) })
	var cur v1alpha1.SeccompPolicy
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if k8s.Get(ctx, client.ObjectKeyFromObject(p), &cur) == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, v1alpha1.ConditionReady) &&
			cur.Status.ObservedGeneration == cur.Generation {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("policy %s not Ready: %+v", p.Name, cur.Status)
		}
	}
}

// dryRun creates pod without persisting it and returns the admitted pod,
// the error and the warnings.
func dryRun(t *testing.T, pod *corev1.Pod) (*corev1.Pod, error, []string) {
	t.Helper()
	cl, w := warningClient(t)
	out := pod.DeepCopy()
	err := cl.Create(context.Background(), out, client.DryRunAll)
	return out, err, w.take()
}

// admittedWithin retries a dry-run create until check accepts the result:
// the apiserver loads new admission policies asynchronously.
func admittedWithin(t *testing.T, what string, pod *corev1.Pod, check func(*corev1.Pod, error, []string) bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		out, err, warnings := dryRun(t, pod)
		if check(out, err, warnings) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last: profile %q, error %v, warnings %q", what, podProfile(out), err, warnings)
		}
	}
}

func podProfile(p *corev1.Pod) string {
	if sc := p.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		if sc.SeccompProfile.LocalhostProfile != nil {
			return string(sc.SeccompProfile.Type) + ":" + *sc.SeccompProfile.LocalhostProfile
		}
		return string(sc.SeccompProfile.Type)
	}
	return ""
}

// A PSA-restricted namespace rejects a pod that sets no seccomp profile;
// with a policy whose default is RuntimeDefault the same pod is admitted
// with the field written, and a pod that sets its own keeps it.
func TestPolicyDefaultMakesRestrictedAdmit(t *testing.T) {
	policyNamespace(t, "pol-default", map[string]string{"team": "default-test", "pod-security.kubernetes.io/enforce": "restricted"})
	pod := policycases.RestrictedPod("pol-default", "plain")
	if _, err, _ := dryRun(t, pod); err == nil || !strings.Contains(err.Error(), "seccompProfile") {
		t.Fatalf("without a policy, restricted should reject the pod for its seccomp profile: %v", err)
	}
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "default-test"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "default-test"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
		},
	})
	admittedWithin(t, "the plain pod admitted with RuntimeDefault", pod, func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault"
	})
	own := policycases.RestrictedPod("pol-default", "own")
	own.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/webapp.json")}
	if out, err, _ := dryRun(t, own); err != nil || podProfile(out) != "Localhost:operator/webapp.json" {
		t.Errorf("a pod with its own profile: %v, profile %q", err, podProfile(out))
	}
	legacy := policycases.RestrictedPod("pol-default", "legacy")
	legacy.Annotations = map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "localhost/operator/webapp.json"}
	out, _, _ := dryRun(t, legacy)
	if p := podProfile(out); p == "RuntimeDefault" {
		t.Errorf("a pod with the legacy pod annotation got the default: %q", p)
	}
	// Another namespace, not selected, is untouched.
	policyNamespace(t, "pol-other", nil)
	if out, err, _ := dryRun(t, policycases.RestrictedPod("pol-other", "plain")); err != nil || podProfile(out) != "" {
		t.Errorf("pod in an unselected namespace: %v, profile %q", err, podProfile(out))
	}
}

// allowedProfiles in enforce, warn and audit mode, judged on the effective
// profile of every kind of container, legacy annotations included.
func TestPolicyAllowedProfiles(t *testing.T) {
	policyNamespace(t, "pol-enforce", map[string]string{"allowed-test": "enforce"})
	policyNamespace(t, "pol-warn", map[string]string{"allowed-test": "warn"})
	policyNamespace(t, "pol-audit", map[string]string{"allowed-test": "audit"})
	for _, mode := range []v1alpha1.PolicyMode{v1alpha1.PolicyModeEnforce, v1alpha1.PolicyModeWarn, v1alpha1.PolicyModeAudit} {
		createPolicy(t, &v1alpha1.SeccompPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: "allowed-" + string(mode)},
			Spec: v1alpha1.SeccompPolicySpec{
				NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"allowed-test": string(mode)}},
				AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "webapp", "team-a-*"},
				Mode:              mode,
			},
		})
	}
	// The profiles the cases name exist (with no node in this cluster they
	// count as installed everywhere).
	teamA := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "team-a-api"},
		Spec:       v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"}},
	}
	if err := k8s.Create(context.Background(), teamA); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), teamA) })
	unconfined := func(ns string) *corev1.Pod {
		p := policycases.RestrictedPod(ns, "unconfined")
		p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		return p
	}
	const wantMsg = "container app: Unconfined (allowed: RuntimeDefault, webapp, team-a-*)"
	admittedWithin(t, "enforce rejects Unconfined", unconfined("pol-enforce"), func(_ *corev1.Pod, err error, _ []string) bool {
		return err != nil && apierrors.IsForbidden(err) && strings.Contains(err.Error(), wantMsg)
	})
	admittedWithin(t, "warn admits Unconfined with a warning", unconfined("pol-warn"), func(_ *corev1.Pod, err error, w []string) bool {
		return err == nil && len(w) == 1 && strings.Contains(w[0], wantMsg)
	})
	admittedWithin(t, "audit admits Unconfined silently", unconfined("pol-audit"), func(_ *corev1.Pod, err error, w []string) bool {
		return err == nil && len(w) == 0
	})
	// ... and the verdict is in the audit event: natively the apiserver's
	// validation_failure annotation, on the fallback path the webhook's.
	if key := auditAnnotated(t, "pol-audit", "SeccompPolicy allowed-audit: seccomp profile not allowed for "+wantMsg,
		func() { _, _, _ = dryRun(t, unconfined("pol-audit")) }); key != "validation.policy.admission.k8s.io/validation_failure" && key != "allowed-audit.policy.pods.seccomp-operator.dev/verdict" {
		t.Errorf("audit annotation under %q", key)
	}

	teamAPod := policycases.RestrictedPod("pol-enforce", "team-a")
	teamAPod.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/team-a-api.json")}
	admittedWithin(t, "team-a-api in the profile index", teamAPod, func(_ *corev1.Pod, err error, _ []string) bool { return err == nil })
	for _, c := range []struct {
		name   string
		mutate func(*corev1.Pod)
		reject string // "" = admitted
	}{
		{"nothing set: the node default", func(p *corev1.Pod) {}, "container app: Unconfined (sets no profile: the node default)"},
		{"pod RuntimeDefault", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
		}, ""},
		{"named profile", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/webapp.json")}
		}, ""},
		{"name pattern", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/team-a-api.json")}
		}, ""},
		{"other localhost file", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/team-b-api.json")}
		}, "container app: localhost/operator/team-b-api.json"},
		{"container field overrides an allowed pod field", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
		}, "container app: Unconfined"},
		{"init container", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			p.Spec.InitContainers = []corev1.Container{{Name: "setup", Image: "busybox", SecurityContext: &corev1.SecurityContext{
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}}}
		}, "init container setup: Unconfined"},
		{"legacy container annotation", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			p.Annotations = map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}
		}, "container app: Unconfined"},
		{"legacy pod annotation docker/default", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "docker/default"}
		}, ""},
	} {
		pod := policycases.RestrictedPod("pol-enforce", "case")
		c.mutate(pod)
		_, err, _ := dryRun(t, pod)
		switch {
		case c.reject == "" && err != nil:
			t.Errorf("%s: rejected: %v", c.name, err)
		case c.reject != "" && (err == nil || !strings.Contains(err.Error(), c.reject)):
			t.Errorf("%s: want a rejection naming %q, got %v", c.name, c.reject, err)
		}
	}
}

// Of two policies selecting one namespace only the one with the higher
// priority applies; exempt namespaces are never touched; the manager
// restores an admission policy that was deleted or edited.
func TestPolicyPrecedenceExemptionsRepair(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "pol-prec", map[string]string{"prec-test": "yes"})
	policyNamespace(t, "pol-exempt", map[string]string{"prec-test": "yes"})
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "prec-low"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"prec-test": "yes"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
		},
	})
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "prec-high"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "prec-test", Operator: metav1.LabelSelectorOpExists}}},
			Priority:          10,
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "webapp"},
			Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"pol-exempt"}},
		},
	})
	admittedWithin(t, "the higher priority's default", policycases.RestrictedPod("pol-prec", "p"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "Localhost:operator/webapp.json"
	})
	// pol-exempt is exempt from prec-high only: prec-low does not apply
	// either, because prec-high takes the namespace (precedence is on the
	// selector, exemptions do not hand a namespace to the next policy).
	// Within a while: prec-low's objects, recompiled to leave prec-high's
	// namespaces alone when prec-high was created, reach the apiserver's
	// policy informer after prec-high's own may already decide pol-prec
	// (the check above); until then prec-low's earlier objects default
	// pol-exempt. A policy that took the namespace for good fails here.
	admittedWithin(t, "the exempt namespace left alone", policycases.RestrictedPod("pol-exempt", "p"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == ""
	})
	if out, err, _ := dryRun(t, policycases.RestrictedPod(operatorNamespace, "p")); err != nil && !apierrors.IsNotFound(err) || err == nil && podProfile(out) != "" {
		t.Errorf("operator namespace: %v, profile %q", err, podProfile(out))
	}

	// Repair: delete the mutating policy, edit the binding.
	name := policy.MutatingName("prec-high")
	if err := k8s.Delete(ctx, &admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	var b admissionv1.MutatingAdmissionPolicyBinding
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &b); err != nil {
		t.Fatal(err)
	}
	b.Spec.MatchResources.NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"nothing": "matches"}}
	if err := k8s.Update(ctx, &b); err != nil {
		t.Fatal(err)
	}
	eventuallyWithin(t, 20*time.Second, "the deleted policy and the edited binding restored", func() bool {
		var m admissionv1.MutatingAdmissionPolicy
		var cur admissionv1.MutatingAdmissionPolicyBinding
		return k8s.Get(ctx, client.ObjectKey{Name: name}, &m) == nil &&
			k8s.Get(ctx, client.ObjectKey{Name: name}, &cur) == nil &&
			cur.Spec.MatchResources.NamespaceSelector.MatchLabels["nothing"] == ""
	})
	admittedWithin(t, "the default again after the repair", policycases.RestrictedPod("pol-prec", "p"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "Localhost:operator/webapp.json"
	})
}

// A pod whose container names an operator profile that does not exist, or
// is not installed on every node yet, gets the policy's verdict with a
// message saying which; once the profile is installed the pod is admitted.
func TestPolicyMissingOrNotInstalledProfile(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "pol-missing", map[string]string{"missing-test": "yes"})
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "missing-test"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"missing-test": "yes"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
		},
	})
	uses := func(name string) *corev1.Pod {
		p := policycases.RestrictedPod("pol-missing", "uses")
		p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/" + name + ".json")}
		return p
	}
	admittedWithin(t, "a pod naming a profile that does not exist refused", uses("nowhere"), func(_ *corev1.Pod, err error, _ []string) bool {
		return err != nil && strings.Contains(err.Error(), "container app: localhost/operator/nowhere.json: no SeccompProfile nowhere exists")
	})

	// A valid profile that a node has not installed: known, not installed.
	node := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "pol-missing-node"}}
	if err := k8s.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, node) })
	sp := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "missing-test-pending"},
		Spec:       v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"}},
	}
	if err := k8s.Create(ctx, sp); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, sp) })
	admittedWithin(t, "a pod naming a profile not installed yet refused", uses(sp.Name), func(_ *corev1.Pod, err error, _ []string) bool {
		return err != nil && strings.Contains(err.Error(), "SeccompProfile missing-test-pending is not installed on every node yet")
	})
	// Natively, the verdict came from the index compiled into the
	// installed check, not read as params per request (policy.indexCEL).
	var pol v1alpha1.SeccompPolicy
	eventually(t, "the policy Ready", func() bool {
		return k8s.Get(ctx, client.ObjectKey{Name: "missing-test"}, &pol) == nil &&
			meta.FindStatusCondition(pol.Status.Conditions, v1alpha1.ConditionReady) != nil
	})
	var vap admissionv1.ValidatingAdmissionPolicy
	eventually(t, "the installed check carries the index", func() bool {
		if meta.FindStatusCondition(pol.Status.Conditions, v1alpha1.ConditionReady).Reason == controller.ReasonFallbackWebhook {
			return true // the fallback webhook's path: no admission policies
		}
		if k8s.Get(ctx, client.ObjectKey{Name: policy.InstalledName("missing-test")}, &vap) != nil || vap.Spec.ParamKind != nil {
			return false
		}
		for _, v := range vap.Spec.Variables {
			if v.Name == "notInstalled" && strings.Contains(v.Expression, `"missing-test-pending": "not installed on every node yet`) {
				return true
			}
		}
		return false
	})
	// Another localhost file is not the operator's to judge.
	other := policycases.RestrictedPod("pol-missing", "other")
	other.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("custom/own.json")}
	if _, err, _ := dryRun(t, other); err != nil {
		t.Errorf("a localhost file outside operator/: %v", err)
	}
}

// Ephemeral containers arrive as an UPDATE of pods/ephemeralcontainers: one
// added without a profile to a pod that has none gets the default on the
// container (the pod's security context cannot change any more), and one
// with a profile the policy does not allow is refused.
func TestPolicyEphemeralContainers(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "pol-ephemeral", nil)
	// A pod created before any policy governs its namespace: no profile.
	pod := policycases.RestrictedPod("pol-ephemeral", "debug-me")
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "ephemeral-test"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "pol-ephemeral"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
		},
	})
	// Wait until the apiserver has loaded both: a new pod gets the default
	// and an Unconfined one is refused.
	admittedWithin(t, "the default in force", policycases.RestrictedPod("pol-ephemeral", "probe"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault"
	})
	refused := policycases.RestrictedPod("pol-ephemeral", "probe")
	refused.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	admittedWithin(t, "the allowed list in force", refused, func(_ *corev1.Pod, err error, _ []string) bool { return err != nil })

	add := func(name string, sp *corev1.SeccompProfile) error {
		cur := &corev1.Pod{}
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), cur); err != nil {
			t.Fatal(err)
		}
		cur.Spec.EphemeralContainers = append(cur.Spec.EphemeralContainers, corev1.EphemeralContainer{
			EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: name, Image: "busybox",
				SecurityContext: &corev1.SecurityContext{SeccompProfile: sp}},
		})
		return k8s.SubResource("ephemeralcontainers").Update(ctx, cur)
	}
	if err := add("bad", &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}); err == nil ||
		!strings.Contains(err.Error(), "ephemeral container bad: Unconfined") {
		t.Errorf("an Unconfined ephemeral container: %v, want refused", err)
	}
	if err := add("debugger", nil); err != nil {
		t.Fatalf("add an ephemeral container without a profile: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	ec := pod.Spec.EphemeralContainers
	if len(ec) != 1 || ec[0].SecurityContext == nil || ec[0].SecurityContext.SeccompProfile == nil ||
		ec[0].SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("ephemeral container after admission: %+v, want RuntimeDefault on the container", ec)
	}
	if podProfile(pod) != "" {
		t.Errorf("the pod's own profile changed: %q", podProfile(pod))
	}
}

// Workload templates get the pods' verdicts as warnings at apply time (the
// pods are what enforce refuses); a template that sets nothing counts as
// getting the policy's default.
func TestPolicyTemplateWarnings(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "pol-templates", map[string]string{"templates-test": "yes"})
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "templates-test"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"templates-test": "yes"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "tmpl-*"},
		},
	})
	cl, w := warningClient(t)
	template := func(restart corev1.RestartPolicy, sp *corev1.SeccompProfile) corev1.PodTemplateSpec {
		return corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
			Spec: corev1.PodSpec{RestartPolicy: restart, Containers: []corev1.Container{{Name: "app", Image: "nginx",
				SecurityContext: &corev1.SecurityContext{SeccompProfile: sp}}}},
		}
	}
	deployment := func(name string, sp *corev1.SeccompProfile) *appsv1.Deployment {
		return &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: "pol-templates", Name: name},
			Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
				Template: template(corev1.RestartPolicyAlways, sp)},
		}
	}
	unconfined := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	var lastErr error
	var lastMsgs []string
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last: %v %q", lastErr, lastMsgs)
		}
	})
	eventually(t, "a Deployment with an Unconfined template warned, not refused", func() bool {
		w.take()
		err := cl.Create(ctx, deployment("unconfined", unconfined), client.DryRunAll)
		msgs := w.take()
		lastErr, lastMsgs = err, msgs
		return err == nil && len(msgs) == 1 &&
			strings.Contains(msgs[0], "SeccompPolicy templates-test, for the pods of this Deployment: seccomp profile not allowed for container app: Unconfined")
	})
	if err := cl.Create(ctx, deployment("plain", nil), client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	if msgs := w.take(); len(msgs) != 0 {
		t.Errorf("a template that sets nothing gets the allowed default, yet: %q", msgs)
	}
	cron := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "pol-templates", Name: "nightly"},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{
			Template: template(corev1.RestartPolicyNever, &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/tmpl-nowhere.json")})}}},
	}
	if err := cl.Create(ctx, cron, client.DryRunAll); err != nil {
		t.Fatal(err)
	}
	if msgs := w.take(); len(msgs) != 1 || !strings.Contains(msgs[0], "for the pods of this CronJob: container app: localhost/operator/tmpl-nowhere.json: no SeccompProfile tmpl-nowhere exists") {
		t.Errorf("CronJob naming a missing profile: warnings %q", msgs)
	}
}
