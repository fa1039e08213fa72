//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	nodev1 "k8s.io/api/node/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// One table of cases runs through the admission policies the apiserver
// evaluates (CEL) and through policy.Evaluate (Go), which the fallback
// webhook and `seccompctl audit` are to use: for each the two must agree on
// admission, the default written and the messages, word for word.
func TestPolicyCaseTableCELAndGoAgree(t *testing.T) {
	ctx := context.Background()
	nsLabels := map[string]map[string]string{
		"cases-enforce": {"cases": "enforce"},
		"cases-warn":    {"cases": "warn"},
		"cases-exempt":  {"cases": "enforce"},
		"cases-tier":    {"cases": "enforce", "tier": "x"},
		"cases-none":    {"other": "yes"},
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
		{"exempt namespace", "cases-exempt", containerProfile(field(corev1.SeccompProfileTypeUnconfined, ""))},
		{"warn: plain pod gets the localhost default", "cases-warn", nil},
		{"warn: not allowed is a warning", "cases-warn", containerProfile(field(corev1.SeccompProfileTypeRuntimeDefault, ""))},
		{"precedence: the higher priority's default, which does not exist", "cases-tier", nil},
		{"no policy", "cases-none", containerProfile(field(corev1.SeccompProfileTypeUnconfined, ""))},
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
		problems = runCases(t, cases, nsLabels, all.Items, &index)
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
func runCases(t *testing.T, cases []policyCase, nsLabels map[string]map[string]string, all []v1alpha1.SeccompPolicy, index *v1alpha1.SeccompProfileIndex) []string {
	var problems []string
	for _, c := range cases {
		pod := restrictedPod(c.ns, "case-"+rand.String(5))
		if c.mutate != nil {
			c.mutate(pod)
		}
		want, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: withName(nsLabels[c.ns], c.ns), Username: "system:admin"},
			all, index, operatorNamespace)
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
		for _, msg := range []string{want.Violations, want.Missing} {
			if msg != "" && !strings.Contains(said, msg) {
				problems = append(problems, fmt.Sprintf("%s: the apiserver did not say Go's message\n  go:  %s\n  api: %s", c.name, msg, said))
			}
		}
		if apiErr == nil && want.Violations == "" && want.Missing == "" && said != "" {
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

// withName adds the label every namespace has.
func withName(l map[string]string, ns string) map[string]string {
	out := map[string]string{"kubernetes.io/metadata.name": ns}
	for k, v := range l {
		out[k] = v
	}
	return out
}
