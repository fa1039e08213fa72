// Package policy compiles SeccompPolicy objects into the apiserver's own
// admission policies: a MutatingAdmissionPolicy that writes the default
// profile into pods that set none, and a ValidatingAdmissionPolicy that
// judges each container's effective profile against the allowed list. The
// apiserver evaluates them itself (CEL), so pod admission has no network
// hop and keeps working while the operator is down.
//
// The CEL reads a pod's profile in internal/podprofile's order (container
// field → container annotation → pod field → pod annotation → node
// default), with its annotation keys. The fallback webhook and `seccompctl
// audit` run these same policies in-process (Evaluate, package celeval):
// an admission rule is written once, here.
package policy

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// LabelPolicy marks the admission objects compiled from a SeccompPolicy
// with its name.
const LabelPolicy = "seccomp-operator.dev/policy"

// AlwaysExempt are the namespaces no policy touches besides the operator's
// own: the control plane's and the node agents' pods must start even when a
// policy is wrong.
var AlwaysExempt = []string{"kube-system"}

// Objects are the admission objects of one policy; a nil pair means the
// policy needs none of that kind.
type Objects struct {
	Mutating        *admissionv1.MutatingAdmissionPolicy
	MutatingBinding *admissionv1.MutatingAdmissionPolicyBinding
	// Validating judges the allowed list (nil without one) and, once the
	// index is carried as literals, also the installed check.
	Validating     *admissionv1.ValidatingAdmissionPolicy
	ValidatingBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Installed judges that each container's operator profile exists and
	// is installed on every node, when Validating does not: for a policy
	// without an allowed list, or while the index is read as params.
	Installed     *admissionv1.ValidatingAdmissionPolicy
	InstalledBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Templates gives the same verdicts on the pod templates of
	// workloads, as warnings (the pods are what enforce refuses), so
	// users learn at kubectl apply, not from a ReplicaSet's events.
	Templates     *admissionv1.ValidatingAdmissionPolicy
	TemplatesBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Note is what the policy's status should add to Ready ("" for
	// nothing): a limit the compiled objects ran into.
	Note string
	// governs is the CEL of governs (see governs).
	governs string
}

// MutatingName and ValidatingName name a policy's admission objects (each
// binding has its policy's name).
func MutatingName(policy string) string { return "seccomp-operator-default." + policy }

func ValidatingName(policy string) string { return "seccomp-operator-allowed." + policy }

func InstalledName(policy string) string { return "seccomp-operator-installed." + policy }

func TemplatesName(policy string) string { return "seccomp-operator-templates." + policy }

// Precedes reports whether policy a takes precedence over b where both
// select a namespace: higher priority, then the name that sorts first.
func Precedes(a, b *v1alpha1.SeccompPolicy) bool {
	if a.Spec.Priority != b.Spec.Priority {
		return a.Spec.Priority > b.Spec.Priority
	}
	return a.Name < b.Name
}

// Compile returns the admission objects for p, given every policy in the
// cluster (for precedence), the operator's namespace (always exempt), the
// ProfileBindings of every namespace (the workload-template check applies
// them, as the pods' own admission will) and the profile index (nil when
// none is published yet): the installed checks carry it in their
// expressions (see indexCEL), so each index change rewrites them.
//
// A policy CheckPolicy refuses compiles to CheckPolicy's error, and takes no
// part in the others' precedence; a ProfileBinding CheckBinding refuses is
// left out of the template check.
func Compile(p *v1alpha1.SeccompPolicy, all []v1alpha1.SeccompPolicy, operatorNamespace string, bindings []v1alpha1.ProfileBinding, index *v1alpha1.SeccompProfileIndex) (Objects, error) {
	if err := CheckPolicy(p); err != nil {
		return Objects{}, err
	}
	def, err := defaultProfile(p.Spec.DefaultProfile)
	if err != nil {
		return Objects{}, err
	}
	ix := indexOf(index)
	conds := matchConditions(p, podSource)
	gov, err := governs(p, validPolicies(all))
	if err != nil {
		return Objects{}, err
	}
	match := &admissionv1.MatchResources{
		ResourceRules: []admissionv1.NamedRuleWithOperations{
			podRule([]string{"pods"}, admissionv1.Create),
			podRule([]string{"pods/ephemeralcontainers"}, admissionv1.Update),
		},
	}
	nsSel := NamespaceSelector(p, operatorNamespace)
	labels := map[string]string{LabelPolicy: p.Name, "app.kubernetes.io/managed-by": "seccomp-operator"}
	o := Objects{governs: gov}
	// Every policy mutates: legacy annotations become fields, and the
	// default (when the policy has one) fills what is unset.
	{
		name := MutatingName(p.Name)
		o.Mutating = &admissionv1.MutatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.MutatingAdmissionPolicySpec{
				MatchConstraints:   match.DeepCopy(),
				MatchConditions:    append(slices.Clone(conds), mayMutate()),
				Variables:          governsVariable(gov),
				Mutations:          mutations(def, gov),
				FailurePolicy:      ptr.To(admissionv1.Fail),
				ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			},
		}
		o.MutatingBinding = &admissionv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
				PolicyName:     name,
				MatchResources: &admissionv1.MatchResources{NamespaceSelector: nsSel.DeepCopy()},
			},
		}
	}
	// The allowed list and the installed check. Each validating policy the
	// apiserver dispatches costs it activations and their variables, so
	// once the index is carried as literals both checks are one
	// validation of one policy. While the installed check reads the index
	// as params they stay apart: a missing index makes the apiserver skip
	// that policy whole (parameterNotFoundAction Allow), and the allowed
	// list must still hold.
	//
	// Audit mode needs no auditAnnotations of ours: the apiserver records a
	// failed validation with action Audit in the audit event
	// (validation.policy.admission.k8s.io/validation_failure, with the
	// message).
	vap := func(name string, allowed, installed bool) *admissionv1.ValidatingAdmissionPolicy {
		vars, check, mayFail := validation(p, gov, podSource, "", ix, allowed, installed, quote("SeccompPolicy "+p.Name+": "))
		check.Reason = ptr.To(metav1.StatusReasonForbidden)
		params := ix.paramKind()
		if !installed {
			params = nil
		}
		return &admissionv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				ParamKind:        params,
				MatchConstraints: match.DeepCopy(),
				MatchConditions:  append(slices.Clone(conds), mayFail),
				Variables:        vars,
				Validations:      []admissionv1.Validation{check},
				FailurePolicy:    ptr.To(admissionv1.Fail),
			},
		}
	}
	switch name := ValidatingName(p.Name); {
	case len(p.Spec.AllowedProfiles) == 0:
		name = InstalledName(p.Name)
		o.Installed = vap(name, false, true)
		o.InstalledBind = binding(name, labels, nsSel, action(p.Spec.Mode), ix.params)
	case ix.params:
		o.Validating = vap(name, true, false)
		o.ValidatingBind = binding(name, labels, nsSel, action(p.Spec.Mode), false)
		installed := InstalledName(p.Name)
		o.Installed = vap(installed, false, true)
		o.InstalledBind = binding(installed, labels, nsSel, action(p.Spec.Mode), true)
	default:
		o.Validating = vap(name, true, true)
		o.ValidatingBind = binding(name, labels, nsSel, action(p.Spec.Mode), false)
	}

	o.Templates, o.TemplatesBind, o.Note = templates(p, def, gov, nsSel, labels, validBindings(bindings), ix)
	return o, nil
}

// binding binds the validating policy name to the namespaces nsSel
// selects with one action; withIndex gives it the profile index as params.
// Without the index (the manager never ran, or it was deleted) nothing can
// be said of installed profiles: the policy then admits, as if absent.
func binding(name string, labels map[string]string, nsSel *metav1.LabelSelector, act admissionv1.ValidationAction, withIndex bool) *admissionv1.ValidatingAdmissionPolicyBinding {
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: nsSel.DeepCopy()},
			ValidationActions: []admissionv1.ValidationAction{act},
		},
	}
	if withIndex {
		b.Spec.ParamRef = &admissionv1.ParamRef{Name: v1alpha1.ProfileIndexName, ParameterNotFoundAction: ptr.To(admissionv1.AllowAction)}
	}
	return b
}

func podRule(resources []string, op admissionv1.OperationType) admissionv1.NamedRuleWithOperations {
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{op},
		Rule: admissionv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: resources,
			Scope: ptr.To(admissionv1.NamespacedScope),
		},
	}}
}

func action(m v1alpha1.PolicyMode) admissionv1.ValidationAction {
	switch m {
	case v1alpha1.PolicyModeWarn:
		return admissionv1.Warn
	case v1alpha1.PolicyModeAudit:
		return admissionv1.Audit
	}
	return admissionv1.Deny
}

// NamespaceSelector is the namespaces the policy applies to (its admission
// policies' bindings, and its fallback webhook, select them): its
// own selector, less the exempt namespaces (by the name label the apiserver
// sets on every namespace). Matching a binding's selector is a label match,
// where a match condition would cost the apiserver a CEL evaluation in
// every policy for every pod.
func NamespaceSelector(p *v1alpha1.SeccompPolicy, operatorNamespace string) *metav1.LabelSelector {
	exemptNS := append(slices.Clone(AlwaysExempt), p.Spec.Exemptions.Namespaces...)
	if operatorNamespace != "" {
		exemptNS = append(exemptNS, operatorNamespace)
	}
	slices.Sort(exemptNS)
	sel := p.Spec.NamespaceSelector.DeepCopy()
	sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: slices.Compact(exemptNS)})
	return sel
}

// matchConditions: the exemptions of users and runtime classes (the
// namespaces are left out by namespaceSelector).
func matchConditions(p *v1alpha1.SeccompPolicy, src source) []admissionv1.MatchCondition {
	var conds []admissionv1.MatchCondition
	if u := p.Spec.Exemptions.Usernames; len(u) > 0 {
		conds = append(conds, admissionv1.MatchCondition{
			Name:       "not-an-exempt-user",
			Expression: "!(request.userInfo.username in " + stringList(u) + ")",
		})
	}
	if rc := p.Spec.Exemptions.RuntimeClasses; len(rc) > 0 {
		conds = append(conds, admissionv1.MatchCondition{
			Name:       "not-an-exempt-runtime-class",
			Expression: "!has(" + src.specInline + ".runtimeClassName) || !(" + src.specInline + ".runtimeClassName in " + stringList(rc) + ")",
		})
	}
	return conds
}

// governed is the check expr, applied when the policy governs the
// request (gov, see governs). A policy nothing precedes governs every
// request it matches, and its checks then read no variable for it: each
// variable read costs the apiserver an evaluation of its own.
func governed(gov, expr string) string {
	if gov == "true" {
		return expr
	}
	return "!variables.governs || (" + expr + ")"
}

// governs is a CEL expression that holds when no policy that precedes p
// selects the request's namespace. It is a variable, not a match condition:
// match conditions cannot see namespaceObject.
func governs(p *v1alpha1.SeccompPolicy, all []v1alpha1.SeccompPolicy) (string, error) {
	var before []string
	for i := range all {
		q := &all[i]
		if q.Name == p.Name || !Precedes(q, p) {
			continue
		}
		sel, err := selectorCEL(&q.Spec.NamespaceSelector, "namespaceObject.metadata.labels", "has(namespaceObject.metadata.labels)")
		if err != nil {
			return "", fmt.Errorf("policy %s: namespaceSelector: %w", q.Name, err)
		}
		before = append(before, "!("+sel+")")
	}
	if len(before) == 0 {
		return "true", nil
	}
	slices.Sort(before)
	return strings.Join(before, " && "), nil
}

// governsVariable declares governs (see governs) where a check needs it
// (see governed). The policies declare no other variable of their own: the
// apiserver builds every declared variable into each activation of a
// policy, read or not, and evaluates each read one as a program of its own
// (see validation).
func governsVariable(gov string) []admissionv1.Variable {
	if gov == "true" {
		return nil
	}
	return []admissionv1.Variable{{Name: "governs", Expression: gov}}
}
