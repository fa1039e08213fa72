// Package benchpolicy is the SeccompPolicy and profile index the admission
// benchmarks measure (bench/admission, bench/webhook and
// internal/policy's BenchmarkValidatingPolicy and BenchmarkMutatingPolicy), written once so that they
// measure the same thing.
package benchpolicy

import (
	"fmt"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Policy governs the namespaces labelled bench=governed: RuntimeDefault
// by default, RuntimeDefault and profile-* allowed.
func Policy() *v1alpha1.SeccompPolicy {
	return &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"bench": "governed"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "profile-*"},
		},
	}
}

// Installed is the index's installed set of profile-0000 …
// profile-<n-1>, the names the benchmarks' pods use.
func Installed(n int) string {
	var b strings.Builder
	b.WriteString(",")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "profile-%04d,", i)
	}
	return b.String()
}

// FloorMutating is the mutation of bench/admission's -floor reference: a
// copy of the operator's mutating policy m (same rules, same binding)
// doing the least a defaulting policy can: one match condition, no
// variables, no legacy annotations, no containers, one JSON patch writing
// RuntimeDefault at pod level. apply makes that patch an apply
// configuration instead.
func FloorMutating(m *admissionv1.MutatingAdmissionPolicy, apply bool) *admissionv1.MutatingAdmissionPolicy {
	m = m.DeepCopy()
	m.Spec.MatchConditions = []admissionv1.MatchCondition{{Name: "no-pod-profile",
		Expression: "object.kind == 'Pod' && (!has(object.spec.securityContext) || !has(object.spec.securityContext.seccompProfile))"}}
	m.Spec.Variables = nil
	m.Spec.Mutations = []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{Expression: "has(object.spec.securityContext) ? " +
		"[JSONPatch{op: 'add', path: '/spec/securityContext/seccompProfile', value: Object.spec.securityContext.seccompProfile{type: 'RuntimeDefault'}}] : " +
		"[JSONPatch{op: 'add', path: '/spec/securityContext', value: Object.spec.securityContext{seccompProfile: Object.spec.securityContext.seccompProfile{type: 'RuntimeDefault'}}}]"}}}
	if apply {
		m.Spec.Mutations = []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeApplyConfiguration,
			ApplyConfiguration: &admissionv1.ApplyConfiguration{Expression: "Object{spec: Object.spec{securityContext: Object.spec.securityContext{seccompProfile: Object.spec.securityContext.seccompProfile{type: 'RuntimeDefault'}}}}"}}}
	}
	return m
}

// FloorValidating is the validation of bench/admission's -floor reference:
// a copy of the operator's validating policy v with one validation, which
// refuses only a pod named FloorRefuses (one string comparison: the
// benchmark's probe sees when the apiserver applies it).
func FloorValidating(v *admissionv1.ValidatingAdmissionPolicy) *admissionv1.ValidatingAdmissionPolicy {
	v = v.DeepCopy()
	v.Spec.MatchConditions, v.Spec.Variables = nil, nil
	v.Spec.Validations = []admissionv1.Validation{{Expression: "object.metadata.name != " + strconv.Quote(FloorRefuses)}}
	return v
}

// FloorRefuses is the name of the one pod FloorValidating refuses.
const FloorRefuses = "refused-by-the-floor"
