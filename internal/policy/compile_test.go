package policy

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func pol(name string, prio int32, sel metav1.LabelSelector, spec func(*v1alpha1.SeccompPolicySpec)) v1alpha1.SeccompPolicy {
	p := v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}
	p.Spec.Priority, p.Spec.NamespaceSelector = prio, sel
	if spec != nil {
		spec(&p.Spec)
	}
	return p
}

func TestCompileShapes(t *testing.T) {
	def := pol("d", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "webapp"}
	})
	o, err := Compile(&def, []v1alpha1.SeccompPolicy{def}, "seccomp-operator", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Mutating == nil || o.MutatingBinding == nil || o.Validating != nil || o.ValidatingBind != nil {
		t.Fatalf("default only: want no allowed-list pair: %+v", o)
	}
	if !strings.Contains(o.Mutating.Spec.Mutations[0].JSONPatch.Expression, `localhostProfile: "operator/webapp.json"`) {
		t.Errorf("default mutation does not name operator/webapp.json:\n%s", o.Mutating.Spec.Mutations[0].JSONPatch.Expression)
	}
	// The exempt namespaces are left out by the bindings' selectors.
	for _, sel := range []*metav1.LabelSelector{o.MutatingBinding.Spec.MatchResources.NamespaceSelector, o.InstalledBind.Spec.MatchResources.NamespaceSelector, o.TemplatesBind.Spec.MatchResources.NamespaceSelector} {
		if got := metav1.FormatLabelSelector(sel); got != "kubernetes.io/metadata.name notin (kube-system,seccomp-operator)" {
			t.Errorf("exempt namespaces: selector %s", got)
		}
	}

	for mode, want := range map[v1alpha1.PolicyMode]admissionv1.ValidationAction{
		v1alpha1.PolicyModeEnforce: admissionv1.Deny, v1alpha1.PolicyModeWarn: admissionv1.Warn,
		v1alpha1.PolicyModeAudit: admissionv1.Audit, "": admissionv1.Deny,
	} {
		a := pol("a", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
			s.AllowedProfiles, s.Mode = []v1alpha1.AllowedProfile{"RuntimeDefault"}, mode
		})
		o, err := Compile(&a, nil, "", nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if o.Mutating == nil || o.Validating == nil {
			t.Fatalf("allowed only: want the mutating pair (legacy annotations) and the validating pair")
		}
		if got := o.ValidatingBind.Spec.ValidationActions; len(got) != 1 || got[0] != want {
			t.Errorf("mode %q: actions %v, want %v", mode, got, want)
		}
	}
}

func TestPrecedenceIsAVariable(t *testing.T) {
	low := pol("low", 0, metav1.LabelSelector{MatchLabels: map[string]string{"a": "1"}}, nil)
	high := pol("high", 5, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
		{Key: "b", Operator: metav1.LabelSelectorOpNotIn, Values: []string{"x", "y"}},
		{Key: "c", Operator: metav1.LabelSelectorOpDoesNotExist},
	}}, nil)
	sameB := pol("b", 0, metav1.LabelSelector{}, nil) // same priority, "b" < "low"
	all := []v1alpha1.SeccompPolicy{low, high, sameB}
	if !Precedes(&high, &low) || !Precedes(&sameB, &low) || Precedes(&low, &sameB) {
		t.Fatal("precedence: priority first, then name")
	}
	g, err := governs(&low, all)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`!(true)`, // "b" selects every namespace
		`(!has(namespaceObject.metadata.labels) || !("b" in namespaceObject.metadata.labels) || !(namespaceObject.metadata.labels["b"] in ["x", "y"]))`,
		`(!has(namespaceObject.metadata.labels) || !("c" in namespaceObject.metadata.labels))`,
	} {
		if !strings.Contains(g, want) {
			t.Errorf("governs(low) lacks %s:\n%s", want, g)
		}
	}
	if g, _ := governs(&high, all); g != "true" {
		t.Errorf("governs(high) = %s, want true (nothing precedes it)", g)
	}
	bad := pol("bad", 9, metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}, nil)
	// A policy with an invalid selector takes no part: it fails alone,
	// and the policies it would precede compile as if it did not exist.
	if _, err := Compile(&bad, []v1alpha1.SeccompPolicy{low, bad}, "", nil, nil); err == nil || !strings.Contains(err.Error(), "spec.namespaceSelector") {
		t.Errorf("a policy with an invalid selector: %v", err)
	}
	if o, err := Compile(&low, []v1alpha1.SeccompPolicy{low, bad}, "", nil, nil); err != nil {
		t.Errorf("an invalid selector of a preceding policy: %v", err)
	} else if v := o.Mutating.Spec.Variables; len(v) != 0 {
		t.Errorf("an invalid selector of a preceding policy: variables %+v, want none (nothing valid precedes low)", v)
	}
}

func TestAllowedCEL(t *testing.T) {
	for _, c := range []struct {
		allowed []v1alpha1.AllowedProfile
		want    string
	}{
		{[]v1alpha1.AllowedProfile{"RuntimeDefault", "Unconfined"}, `v == "RuntimeDefault" || v == "Unconfined"`},
		{[]v1alpha1.AllowedProfile{"webapp"}, `v == "localhost/operator/webapp.json"`},
		{[]v1alpha1.AllowedProfile{"team-a-*"}, `(v.startsWith("localhost/operator/team-a-") && v.endsWith(".json"))`},
		{[]v1alpha1.AllowedProfile{"localhost/profiles/*"}, `v.startsWith("localhost/profiles/")`},
		{[]v1alpha1.AllowedProfile{"localhost/x.json"}, `v == "localhost/x.json"`},
		{[]v1alpha1.AllowedProfile{"webapp", "*"}, `true`},
	} {
		if got := allowedCEL(c.allowed, "v"); got != c.want {
			t.Errorf("%v: %s, want %s", c.allowed, got, c.want)
		}
	}
}

// The template check applies the ProfileBindings of the request's
// namespace; a namespace whose bindings do not compile is left out (its
// pods are not bound either), and without bindings nothing changes.
func TestTemplateCheckAppliesBindings(t *testing.T) {
	a := pol("a", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault"}
	})
	bindings := []v1alpha1.ProfileBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop"}, Spec: v1alpha1.ProfileBindingSpec{ProfileName: "webapp", Images: []string{"nginx*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "bad", Namespace: "broken"}, Spec: v1alpha1.ProfileBindingSpec{ProfileName: "webapp",
			PodSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "k", Operator: "Near"}}}}},
	}
	// judged: the template check's expressions, and whether it reads the
	// template's labels (which the bindings' pod selectors need).
	judged := func(o Objects) (string, bool) {
		c := o.Templates.Spec.Validations[0]
		return c.Expression + "\n" + c.MessageExpression, variable(o.Templates.Spec.Variables, "podLabels") != "<no variable podLabels>"
	}
	plain, err := Compile(&a, nil, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if expr, labels := judged(plain); labels || strings.Contains(expr, "request.namespace") {
		t.Errorf("without bindings the template check should not look for any: labels %v, %s", labels, expr)
	}
	bound, err := Compile(&a, nil, "", bindings, nil)
	if err != nil {
		t.Fatal(err)
	}
	expr, labels := judged(bound)
	if !labels || !strings.Contains(expr, `request.namespace == "shop"`) || !strings.Contains(expr, `"operator/webapp.json"`) {
		t.Errorf("the template check does not apply shop's binding: labels %v, %s", labels, expr)
	}
	if strings.Contains(expr, `"broken"`) {
		t.Errorf("a namespace whose bindings do not compile is in the template check: %s", expr)
	}

	o, err := CompileBindings("shop", bindings[:1], nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Templates == nil || o.TemplatesBind == nil || *o.Templates.Spec.FailurePolicy != admissionv1.Ignore ||
		len(o.TemplatesBind.Spec.ValidationActions) != 1 || o.TemplatesBind.Spec.ValidationActions[0] != admissionv1.Warn {
		t.Fatalf("bindings' template check: want a warning that never blocks: %+v", o.TemplatesBind)
	}
}

// CEL refuses an expression of more than 100,000 code points, and a
// refused template check would leave the whole policy unapplied: the
// binding chain stays within its budget, and past it the template check
// goes without bindings and the policy's note says so.
func TestTemplateCheckBindingsBudget(t *testing.T) {
	a := pol("a", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault"}
	})
	bindings := func(n int) []v1alpha1.ProfileBinding {
		var out []v1alpha1.ProfileBinding
		for i := range n {
			out = append(out, v1alpha1.ProfileBinding{
				ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("b%d", i), Namespace: fmt.Sprintf("ns%d", i/3)},
				Spec: v1alpha1.ProfileBindingSpec{ProfileName: fmt.Sprintf("x-%d", i), Images: []string{fmt.Sprintf("registry.example/team/app-%d:*", i)},
					PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": fmt.Sprintf("a%d", i)}}},
			})
		}
		return out
	}
	longest := func(o Objects) int {
		n := 0
		for _, v := range o.Templates.Spec.Variables {
			n = max(n, utf8.RuneCountInString(v.Expression))
		}
		for _, v := range o.Templates.Spec.Validations {
			n = max(n, utf8.RuneCountInString(v.Expression), utf8.RuneCountInString(v.MessageExpression))
		}
		return n
	}
	for _, n := range []int{1, 50, 100} {
		o, err := Compile(&a, nil, "", bindings(n), nil)
		if err != nil {
			t.Fatal(err)
		}
		if o.Note != "" || longest(o) >= 100000 {
			t.Errorf("%d bindings: note %q, longest expression %d code points", n, o.Note, longest(o))
		}
	}
	o, err := Compile(&a, nil, "", bindings(150), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(o.Note, "without the ProfileBindings") || longest(o) >= 20000 {
		t.Errorf("150 bindings: note %q, longest expression %d code points; want the template check without bindings", o.Note, longest(o))
	}
}
