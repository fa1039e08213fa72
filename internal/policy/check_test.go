package policy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Names the API admitted under the CRDs' old patterns (and objects stored
// then still carry): a policy or binding naming one is refused alone, with
// its field named, and the decisions for every other pod stay as they were
// without it. They used to make nodepath.ProfilePath panic inside Compile,
// CompileBindings and Evaluate.
func TestBadNamesAreSkippedNotPanics(t *testing.T) {
	team := metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	good := pol("good", 0, team, func(s *v1alpha1.SeccompPolicySpec) {
		s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}
	})
	for _, c := range []struct {
		name, field string
		spec        func(*v1alpha1.SeccompPolicySpec)
	}{
		{"allowed name", "spec.allowedProfiles[1]", func(s *v1alpha1.SeccompPolicySpec) {
			s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault", "team..a"}
		}},
		{"allowed prefix", "spec.allowedProfiles[0]", func(s *v1alpha1.SeccompPolicySpec) {
			s.AllowedProfiles = []v1alpha1.AllowedProfile{"team..*"}
		}},
		{"default profileName", "spec.defaultProfile.profileName", func(s *v1alpha1.SeccompPolicySpec) {
			s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "a..b"}
		}},
		{"exempt namespace", "spec.exemptions.namespaces", func(s *v1alpha1.SeccompPolicySpec) {
			s.Exemptions.Namespaces = []string{"ci", "Not a namespace!"}
		}},
		{"namespaceSelector", "spec.namespaceSelector", func(s *v1alpha1.SeccompPolicySpec) {
			s.NamespaceSelector.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: "team", Operator: "Near"}}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			bad := pol("bad", 10, team, c.spec) // it would precede good
			all := []v1alpha1.SeccompPolicy{bad, good}
			if _, err := Compile(&bad, all, "op", nil, nil); err == nil || !strings.Contains(err.Error(), c.field) {
				t.Errorf("Compile(bad) = %v, want an error naming %s", err, c.field)
			}
			if o, err := Compile(&good, all, "op", nil, nil); err != nil {
				t.Errorf("Compile(good) = %v", err)
			} else if v := o.Mutating.Spec.Variables; len(v) != 0 {
				t.Errorf("Compile(good): variables %+v, want none (the bad policy precedes nothing)", v)
			}
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
			d, err := Evaluate(Request{Describe: true, Pod: pod, NamespaceLabels: map[string]string{"team": "a"}}, State{Policies: all, OperatorNamespace: "op"})
			if err != nil || d.Policy != "good" || d.Default == nil || d.Default.Type != corev1.SeccompProfileTypeRuntimeDefault {
				t.Errorf("Evaluate = policy %q, default %v, %v; want good's decision, as if bad did not exist", d.Policy, d.Default, err)
			}
		})
	}

	mk := func(name, profile string) v1alpha1.ProfileBinding {
		return v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name},
			Spec: v1alpha1.ProfileBindingSpec{ProfileName: profile, Priority: 5, ContainerNames: []string{"app"}}}
	}
	bindings := []v1alpha1.ProfileBinding{mk("a-bad", "a..b"), mk("b-good", "web")}
	badSel := mk("c-bad-selector", "web")
	badSel.Spec.PodSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}
	bindings = append(bindings, badSel)
	if err := CheckBinding(&bindings[0]); err == nil || !strings.Contains(err.Error(), "spec.profileName") {
		t.Errorf("CheckBinding(a..b) = %v", err)
	}
	if err := CheckBinding(&badSel); err == nil || !strings.Contains(err.Error(), "spec.podSelector") {
		t.Errorf("CheckBinding(bad selector) = %v", err)
	}
	o, err := CompileBindings("ns", bindings, nil)
	if err != nil || o.Mutating == nil || !strings.Contains(o.Mutating.Spec.Mutations[0].JSONPatch.Expression, `"operator/web.json"`) ||
		strings.Contains(o.Mutating.Spec.Mutations[0].JSONPatch.Expression, "a..b") {
		t.Errorf("CompileBindings: %v; the good binding alone must be compiled", err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
	d, err := Evaluate(Request{Describe: true, Pod: pod}, State{Bindings: bindings, OperatorNamespace: "op"})
	if err != nil || d.Bound["app"] != "b-good" {
		t.Errorf("Evaluate = bound %v, %v; want app bound by b-good (a-bad, which precedes it, skipped)", d.Bound, err)
	}
	// The template check of a policy applies the same bindings.
	if _, err := Compile(&good, []v1alpha1.SeccompPolicy{good}, "op", bindings, nil); err != nil {
		t.Errorf("Compile with a bad binding in the cluster: %v", err)
	}
}

// TestBindingImagePatternsMustCompile: an image pattern Go's regexp
// cannot compile (invalid UTF-8, from an object stored under an older
// schema) makes CheckBinding refuse the binding, and no matcher is built
// for it, rather than the pattern being dropped and the binding binding
// by its other fields.
func TestBindingImagePatternsMustCompile(t *testing.T) {
	b := v1alpha1.ProfileBinding{Spec: v1alpha1.ProfileBindingSpec{ProfileName: "p", Images: []string{"nginx:*", "\xe8"}}}
	if err := CheckBinding(&b); err == nil || !strings.Contains(err.Error(), "spec.images[1]") {
		t.Fatalf("CheckBinding: %v, want a refusal naming spec.images[1]", err)
	}
	if o, err := CompileBindings("ns", []v1alpha1.ProfileBinding{b}, nil); err != nil || o.Mutating != nil {
		t.Fatalf("CompileBindings compiled a refused binding: %v, %+v", err, o.Mutating)
	}
}
