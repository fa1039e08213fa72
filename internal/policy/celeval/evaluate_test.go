package celeval

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"
)

var podRules = &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{RuleWithOperations: admissionv1.RuleWithOperations{
	Operations: []admissionv1.OperationType{admissionv1.Create},
	Rule:       admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
}}}}

func validatingPolicy(name, expr, message string, action admissionv1.ValidationAction, nsLabels map[string]string, paramRef *admissionv1.ParamRef) Validating {
	v := Validating{
		Policy: &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: podRules,
			Validations:      []admissionv1.Validation{{Expression: expr, MessageExpression: message}},
			FailurePolicy:    ptr.To(admissionv1.Fail),
		}},
		Binding: &admissionv1.ValidatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName: name, ValidationActions: []admissionv1.ValidationAction{action}, ParamRef: paramRef,
			MatchResources: &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: nsLabels}},
		}},
	}
	if paramRef != nil {
		v.Policy.Spec.ParamKind = &admissionv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
	}
	return v
}

// The apiserver's code runs the policies: a JSON patch, then validations
// on the patched pod under each binding's action, namespace selectors and
// a missing param as the apiserver treats them.
func TestEvaluateRunsThePolicies(t *testing.T) {
	mut := labelling("namespaceObject.metadata.name")
	ps, err := Compile([]Mutating{mut}, []Validating{
		validatingPolicy("b-warn", "object.spec.containers.all(c, c.name != 'bad')", "'bad container in ' + object.metadata.labels['seen']", admissionv1.Warn, nil, nil),
		validatingPolicy("a-deny", "object.spec.containers.all(c, c.name != 'bad')", "'refused'", admissionv1.Deny, map[string]string{"team": "a"}, nil),
		validatingPolicy("c-params", "false", "'params: ' + params.data.x", admissionv1.Deny, nil,
			&admissionv1.ParamRef{Name: "p", ParameterNotFoundAction: ptr.To(admissionv1.AllowAction)}),
	})
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}, Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "bad"}}}}
	req := Request{Object: pod, Resource: "pods", Operation: admission.Create, Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"team": "b"}}}}
	r, err := ps.Evaluate(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Object.(*corev1.Pod).Labels["seen"]; got != "ns" || pod.Labels != nil {
		t.Errorf("mutation: label %q, caller's pod labels %v", got, pod.Labels)
	}
	if w := r.Warnings(); len(w) != 1 || w[0] != "Validation failed for ValidatingAdmissionPolicy 'b-warn' with binding 'b-warn': bad container in ns" {
		t.Errorf("warnings %q", w)
	}
	if d := r.Denied(); d != "" {
		t.Errorf("denied %q: a-deny's binding does not select the namespace, c-params has no params", d)
	}

	req.Namespace.Labels["team"] = "a"
	req.Params = &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, Data: map[string]string{"x": "y"}}
	if r, err = ps.Evaluate(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	if d := r.Denied(); d != "ValidatingAdmissionPolicy 'a-deny' with binding 'a-deny' denied request: refused" {
		t.Errorf("denied %q", d)
	}
	if m := r.Messages(admissionv1.Deny); strings.Join(m, "|") != "refused|params: y" {
		t.Errorf("deny messages %q", m)
	}
}

// A policy that does not compile is an error, not a policy that admits.
func TestCompileRefusesBadExpressions(t *testing.T) {
	if _, err := Compile(nil, []Validating{validatingPolicy("bad", "object.spec.nope(", "'x'", admissionv1.Deny, nil, nil)}); err == nil || !strings.Contains(err.Error(), "bad") {
		t.Errorf("err %v", err)
	}
}

// Evaluate reads the request's object and never returns it: the result is
// the patcher's object or a copy, typed, whether the caller's object had
// its type set (then it is not copied up front) or not.
func TestEvaluateLeavesTheRequestObjectAlone(t *testing.T) {
	ps, err := Compile([]Mutating{labelling("'yes'")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	typed := metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
	for _, c := range []struct {
		name    string
		pod     *corev1.Pod
		mutated bool
	}{
		{"typed, mutated", &corev1.Pod{TypeMeta: typed, ObjectMeta: metav1.ObjectMeta{Name: "p"}}, true},
		{"typed, unchanged", &corev1.Pod{TypeMeta: typed, ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}}}, false},
		{"untyped, unchanged", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Labels: map[string]string{"a": "b"}}}, false},
	} {
		before := c.pod.DeepCopy()
		r, err := ps.Evaluate(context.Background(), Request{Object: c.pod, Resource: "pods", Operation: admission.Create,
			Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}}})
		if err != nil {
			t.Fatal(c.name, err)
		}
		got := r.Object.(*corev1.Pod)
		if got == c.pod || !equality.Semantic.DeepEqual(c.pod, before) {
			t.Errorf("%s: the request's pod returned (%v) or changed: %+v", c.name, got == c.pod, c.pod)
		}
		if got.TypeMeta != typed || (got.Labels["seen"] == "yes") != c.mutated || r.Mutated != c.mutated {
			t.Errorf("%s: result %+v %v, mutated %v", c.name, got.TypeMeta, got.Labels, r.Mutated)
		}
	}
}

// labelling is a mutating policy "label" that labels an unlabelled pod
// seen=<value>, value a CEL expression.
func labelling(value string) Mutating {
	return Mutating{
		Policy: &admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: "label"}, Spec: admissionv1.MutatingAdmissionPolicySpec{
			MatchConstraints: podRules,
			MatchConditions:  []admissionv1.MatchCondition{{Name: "unlabelled", Expression: "!has(object.metadata.labels)"}},
			Mutations: []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{
				Expression: "[JSONPatch{op: 'add', path: '/metadata/labels', value: {'seen': " + value + "}}]"}}},
			FailurePolicy:      ptr.To(admissionv1.Fail),
			ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
		}},
		Binding: &admissionv1.MutatingAdmissionPolicyBinding{ObjectMeta: metav1.ObjectMeta{Name: "label"}, Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "label"}},
	}
}
