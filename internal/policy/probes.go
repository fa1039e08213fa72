package policy

import (
	"maps"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// labelProbe marks the in-process probes (governsProbe, boundProbe).
const labelProbe = "seccomp-operator.dev/in-process-probe"

// governsProbe is a validating policy that fails, as an audit, for every
// pod policy governs: its mutating policy's match (namespaces, exemptions)
// and governs, without the condition that leaves out the pods with
// nothing to write.
func governsProbe(policy string, o Objects) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	m := o.Mutating
	name := "seccomp-operator-governs." + policy
	vap := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: probeLabels(m.Labels)},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: m.Spec.MatchConstraints,
			MatchConditions:  slices.DeleteFunc(slices.Clone(m.Spec.MatchConditions), func(c admissionv1.MatchCondition) bool { return c.Name == mayMutate().Name }),
			Variables:        m.Spec.Variables,
			Validations:      []admissionv1.Validation{{Expression: governed(o.governs, "false"), Message: "governed"}},
			FailurePolicy:    ptr.To(admissionv1.Fail),
		},
	}
	return vap, binding(name, m.Labels, o.MutatingBinding.Spec.MatchResources.NamespaceSelector, admissionv1.Audit, false)
}

func probeLabels(l map[string]string) map[string]string {
	out := maps.Clone(l)
	out[labelProbe] = "true"
	return out
}

// boundProbe is a validating policy that fails, as an audit, for every pod
// with a container that carries its binding's profile, saying which
// ("container=binding,..."): the bindings' installed check's list of them.
func boundProbe(ns string, o BindingObjects) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	name := "seccomp-operator-bound." + ns
	spec := o.Installed.Spec.DeepCopy()
	spec.MatchConditions = nil
	spec.Validations = []admissionv1.Validation{{Expression: "size(variables.bound) == 0", MessageExpression: "variables.bound.map(e, e[1] + '=' + e[2]).join(',')"}}
	vap := &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: probeLabels(o.Installed.Labels)}, Spec: *spec}
	b := o.InstalledBind.DeepCopy()
	b.Name, b.Spec.PolicyName, b.Spec.ValidationActions = name, name, []admissionv1.ValidationAction{admissionv1.Audit}
	// It reads no params: the index variables it declares are not read
	// (variables are evaluated when read), so it runs without an index too.
	b.Spec.ParamRef = nil
	return vap, b
}
