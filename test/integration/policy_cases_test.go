//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// One table of cases runs through the admission policies the apiserver
// evaluates (CEL) and through policy.Evaluate (Go), which the fallback
// webhook and `seccompctl audit` use: for each the two must agree on
// admission, the profiles written and the messages, word for word.
// fallback_test.go runs the same table through the fallback webhook.
func TestPolicyCaseTableCELAndGoAgree(t *testing.T) {
	runPolicyCaseTable(t)
}

// runPolicyCaseTable creates the table's namespaces, profile, policies and
// bindings in the apiserver of the package's k8s client and runs the cases
// until the apiserver and Go agree (or 20 s pass).
func runPolicyCaseTable(t *testing.T) {
	ctx := context.Background()
	nsLabels := map[string]map[string]string{
		"cases-enforce": {"cases": "enforce"},
		"cases-warn":    {"cases": "warn"},
		"cases-exempt":  {"cases": "enforce"},
		"cases-tier":    {"cases": "enforce", "tier": "x"},
		"cases-none":    {"other": "yes"},
		"cases-bound":   {"cases": "enforce"},
		// Bindings and no policy: only the bindings' own checks judge.
		"cases-bound-free": {"other": "bound"},
	}
	for ns, l := range nsLabels {
		policyNamespace(t, ns, l)
	}
	rc := &nodev1.RuntimeClass{ObjectMeta: metav1.ObjectMeta{Name: "cases-sandboxed"}, Handler: "runsc"}
	if err := k8s.Create(ctx, rc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, rc) })
	prof := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "cases-a"},
		Spec:       v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"}},
	}
	if err := k8s.Create(ctx, prof); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, prof) })
	policies := []*v1alpha1.SeccompPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "cases-enforce"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"cases": "enforce"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "cases-*"},
			Mode:              v1alpha1.PolicyModeEnforce,
			Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"cases-exempt"}, RuntimeClasses: []string{"cases-sandboxed"}},
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "cases-warn"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"cases": "warn"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "cases-a"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"cases-a"},
			Mode:              v1alpha1.PolicyModeWarn,
		}},
		{ObjectMeta: metav1.ObjectMeta{Name: "cases-tier"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "tier", Operator: metav1.LabelSelectorOpIn, Values: []string{"x", "y"}}}},
			Priority:          5,
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "cases-b"},
		}},
	}
	for _, p := range policies {
		createPolicy(t, p)
	}
	bindings := []*v1alpha1.ProfileBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "by-image", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-a", Images: []string{"docker.io/library/nginx:*", "*/nginx-unprivileged*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "by-label", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-b", Priority: 10, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "by-name", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-a", ContainerNames: []string{"sidecar"}, Images: []string{"busybox*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "to-missing", Namespace: "cases-bound-free"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-b", Images: []string{"docker.io/library/nginx:*"}}},
	}
	for _, b := range bindings {
		createBinding(t, b)
	}

	field := func(typ corev1.SeccompProfileType, path string) *corev1.SeccompProfile {
		sp := &corev1.SeccompProfile{Type: typ}
		if path != "" {
			sp.LocalhostProfile = ptr.To(path)
		}
		return sp
	}
	containerProfile := func(sp *corev1.SeccompProfile) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.SeccompProfile = sp }
	}
	cases := []policyCase{
		{"plain pod gets the default", "cases-enforce", nil},
		{"Unconfined container refused", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeUnconfined, ""))},
		{"allowed pattern, profile exists", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "operator/cases-a.json"))},
		{"allowed pattern, profile missing", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "operator/cases-zzz.json"))},
		{"path as written is compared", "cases-enforce", containerProfile(field(corev1.SeccompProfileTypeLocalhost, "./operator/cases-a.json"))},
		{"legacy container annotation", "cases-enforce", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": "unconfined"}
		}},
		{"legacy pod annotation becomes the field", "cases-enforce", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "localhost/operator/cases-a.json"}
		}},
		{"legacy container annotation becomes the field", "cases-enforce", func(p *corev1.Pod) {
			p.Annotations = map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": "docker/default"}
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
		}},
		{"init container", "cases-enforce", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox", SecurityContext: &corev1.SecurityContext{SeccompProfile: field(corev1.SeccompProfileTypeUnconfined, "")}}}
		}},
		{"exempt runtime class", "cases-enforce", func(p *corev1.Pod) {
			p.Spec.RuntimeClassName = ptr.To("cases-sandboxed")
			p.Spec.Containers[0].SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeUnconfined, "")
		}},
		// Pods whose every container takes the pod-level profile.
		{"pod-level Unconfined refused", "cases-enforce", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeUnconfined, "")
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox"}}
		}},
		{"pod-level profile allowed, missing", "cases-enforce", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeLocalhost, "operator/cases-zzz.json")
		}},
		{"pod-level profile allowed, exists", "cases-enforce", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeLocalhost, "operator/cases-a.json")
		}},
		{"exempt namespace", "cases-exempt", containerProfile(field(corev1.SeccompProfileTypeUnconfined, ""))},
		{"warn: plain pod gets the localhost default", "cases-warn", nil},
		{"warn: not allowed is a warning", "cases-warn", containerProfile(field(corev1.SeccompProfileTypeRuntimeDefault, ""))},
		{"warn: pod-level not allowed is a warning", "cases-warn", func(p *corev1.Pod) {
			p.Spec.SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeRuntimeDefault, "")
		}},
		{"precedence: the higher priority's default, which does not exist", "cases-tier", nil},
		{"no policy", "cases-none", containerProfile(field(corev1.SeccompProfileTypeUnconfined, ""))},
		{"binding by image", "cases-bound", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example/nginx-unprivileged:1"}}
		}},
		{"binding by label wins by priority, profile missing", "cases-bound", func(p *corev1.Pod) {
			p.Labels = map[string]string{"app": "legacy"}
			p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
		}},
		{"binding by container name and image", "cases-bound", func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Image: "busybox:1.36",
				SecurityContext: p.Spec.Containers[0].SecurityContext.DeepCopy()})
			p.Spec.Containers[1].SecurityContext.SeccompProfile = nil
		}},
		{"an explicit container profile beats a binding", "cases-bound", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
			p.Spec.Containers[0].SecurityContext.SeccompProfile = field(corev1.SeccompProfileTypeRuntimeDefault, "")
		}},
		{"no binding matches", "cases-bound", func(p *corev1.Pod) {
			p.Spec.Containers[0].Image = "quay.io/other:1"
		}},
		{"binding to a missing profile, no policy", "cases-bound-free", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].Image = "docker.io/library/nginx:1.25"
		}},
		{"no binding matches, no policy", "cases-bound-free", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext.SeccompProfile = nil
			p.Spec.Containers[0].Image = "quay.io/other:1"
		}},
	}

	// The apiserver loads policies asynchronously: wait for the last
	// created one to refuse as expected.
	tier := restrictedPod("cases-tier", "probe")
	admittedWithin(t, "the case policies in force", tier, func(_ *corev1.Pod, err error, _ []string) bool {
		return err != nil && strings.Contains(err.Error(), "no SeccompProfile cases-b exists")
	})
	var all v1alpha1.SeccompPolicyList
	if err := k8s.List(ctx, &all); err != nil {
		t.Fatal(err)
	}
	var index v1alpha1.SeccompProfileIndex
	eventually(t, "cases-a in the index", func() bool {
		return k8s.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &index) == nil &&
			(strings.Contains(index.Installed, ",cases-a,") || index.NotInstalled["cases-a"] != "")
	})

	// Policies reach the apiserver's evaluators asynchronously, each on
	// its own: run the table until CEL and Go agree on every case, and
	// report the disagreements of the last run if they never do.
	var problems []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(500 * time.Millisecond) {
		st := policy.State{Policies: all.Items, Bindings: allBindings(t), Index: &index, OperatorNamespace: operatorNamespace}
		problems = append(runCases(t, cases, nsLabels, st), runTemplateCases(t, cases, nsLabels, st)...)
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
	}
	for _, p := range problems {
		t.Error(p)
	}
}

type policyCase struct {
	name, ns string
	mutate   func(*corev1.Pod)
}

// runCases runs each case through the apiserver and through Evaluate and
// returns where they disagree.
func runCases(t *testing.T, cases []policyCase, nsLabels map[string]map[string]string, st policy.State) []string {
	var problems []string
	for _, c := range cases {
		pod := restrictedPod(c.ns, "case-"+rand.String(5))
		if c.mutate != nil {
			c.mutate(pod)
		}
		want, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: withName(nsLabels[c.ns], c.ns), Username: "system:admin"}, st)
		if err != nil {
			t.Fatalf("%s: Evaluate: %v", c.name, err)
		}
		out, apiErr, warnings := dryRun(t, pod)
		// The apiserver's own warnings about legacy annotations are not ours.
		warnings = slices.DeleteFunc(warnings, func(w string) bool { return strings.HasPrefix(w, "metadata.annotations[") })
		if (apiErr != nil) != want.Refused() {
			problems = append(problems, fmt.Sprintf("%s: apiserver error %v; Go refuses: %v (%+v)", c.name, apiErr, want.Refused(), want))
			continue
		}
		said := strings.Join(warnings, "\n")
		if apiErr != nil {
			said = apiErr.Error()
		}
		msgs := want.Messages()
		if apiErr != nil {
			// The apiserver reports the first denying policy only.
			if !slices.ContainsFunc(msgs, func(m string) bool { return strings.Contains(said, m) }) {
				problems = append(problems, fmt.Sprintf("%s: the apiserver refused without any of Go's messages\n  go:  %q\n  api: %s", c.name, msgs, said))
			}
		} else if want.Mode == v1alpha1.PolicyModeWarn {
			for _, msg := range msgs {
				if !strings.Contains(said, msg) {
					problems = append(problems, fmt.Sprintf("%s: the apiserver did not say Go's message\n  go:  %s\n  api: %s", c.name, msg, said))
				}
			}
		}
		if apiErr == nil && want.Mode != v1alpha1.PolicyModeAudit && len(msgs) == 0 && said != "" {
			problems = append(problems, fmt.Sprintf("%s: the apiserver said %q, Go nothing", c.name, said))
		}
		if apiErr == nil {
			if got, wantP := profiles(out), profiles(want.Pod); got != wantP {
				problems = append(problems, fmt.Sprintf("%s: profiles after admission %s, Go says %s", c.name, got, wantP))
			}
		}
	}
	return problems
}

// runTemplateCases runs each case's pod as the template of a Deployment
// (dry run) and returns where the apiserver's warnings and Go's template
// verdicts (Decision.TemplateMessages, as the fallback webhook words them)
// disagree. Bindings apply to templates as to the pods made from them.
func runTemplateCases(t *testing.T, cases []policyCase, nsLabels map[string]map[string]string, st policy.State) []string {
	cl, w := warningClient(t)
	var problems []string
	for _, tc := range cases {
		pod := restrictedPod(tc.ns, "tmpl-"+rand.String(5))
		if tc.mutate != nil {
			tc.mutate(pod)
		}
		if pod.Labels == nil {
			pod.Labels = map[string]string{}
		}
		pod.Labels["case-template"] = "yes" // the Deployment's selector
		want, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: withName(nsLabels[tc.ns], tc.ns), Username: "system:admin"}, st)
		if err != nil {
			t.Fatalf("%s: Evaluate: %v", tc.name, err)
		}
		pmsgs, bmsg := want.TemplateMessages("Deployment")
		var expect []string
		if want.Mode != v1alpha1.PolicyModeAudit {
			expect = append(expect, pmsgs...)
		}
		if bmsg != "" {
			expect = append(expect, bmsg)
		}
		dep := &appsv1.Deployment{
			ObjectMeta: metav1.ObjectMeta{Namespace: tc.ns, Name: pod.Name},
			Spec: appsv1.DeploymentSpec{
				Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"case-template": "yes"}},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: pod.Labels, Annotations: pod.Annotations}, Spec: pod.Spec},
			},
		}
		w.take()
		if err := cl.Create(context.Background(), dep, client.DryRunAll); err != nil {
			problems = append(problems, fmt.Sprintf("template %s: the Deployment was refused: %v", tc.name, err))
			continue
		}
		// Not ours: Pod Security's and the legacy-annotation warnings.
		said := slices.DeleteFunc(w.take(), func(m string) bool {
			return strings.Contains(m, "would violate PodSecurity") || strings.Contains(m, ".annotations[")
		})
		if len(said) != len(expect) {
			problems = append(problems, fmt.Sprintf("template %s: the apiserver warned %q, Go says %q", tc.name, said, expect))
			continue
		}
		for _, m := range expect {
			if !slices.ContainsFunc(said, func(s string) bool { return strings.Contains(s, m) }) {
				problems = append(problems, fmt.Sprintf("template %s: the apiserver did not say Go's message\n  go:  %s\n  api: %q", tc.name, m, said))
			}
		}
	}
	return problems
}

// profiles lists the pod-level and every container's seccomp field.
func profiles(p *corev1.Pod) string {
	out := "pod=" + podProfile(p)
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		v := ""
		if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
			v = string(c.SecurityContext.SeccompProfile.Type)
			if lp := c.SecurityContext.SeccompProfile.LocalhostProfile; lp != nil {
				v += ":" + *lp
			}
		}
		out += " " + c.Name + "=" + v
	}
	return out
}

// allBindings lists every ProfileBinding.
func allBindings(t *testing.T) []v1alpha1.ProfileBinding {
	t.Helper()
	var l v1alpha1.ProfileBindingList
	if err := k8s.List(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// createBinding creates a ProfileBinding, deleted after the test, and
// waits for it to be Ready.
func createBinding(t *testing.T, b *v1alpha1.ProfileBinding) {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Create(ctx, b); err != nil {
		t.Fatalf("create binding %s: %v", b.Name, err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(ctx, b)) })
	eventually(t, "binding "+b.Name+" Ready", func() bool {
		var cur v1alpha1.ProfileBinding
		return k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur) == nil &&
			meta.IsStatusConditionTrue(cur.Status.Conditions, v1alpha1.ConditionReady) && cur.Status.ObservedGeneration == cur.Generation
	})
}

// withName adds the label every namespace has.
func withName(l map[string]string, ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for k, v := range l {
		out[k] = v
	}
	return out
}
