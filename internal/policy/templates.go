package policy

import (
	"fmt"
	"maps"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// templateBindingsBudget bounds the binding chain the template check
// carries (characters of one copy; the check holds four): CEL refuses an
// expression of more than 100,000 code points, and a refused template
// check would leave the whole policy unapplied. About 100 bindings fit.
const templateBindingsBudget = 20000

// boundCEL is the CEL of the operator path the ProfileBindings of the
// request's namespace give container c, "" when none does; nil when there
// are no bindings, or when they exceed templateBindingsBudget (then note
// says so). A namespace whose bindings do not compile is left out: its
// pods are not bound either (the binding's status says why).
func boundCEL(bindings []v1alpha1.ProfileBinding) (bound func(c string) string, note string) {
	byNS := map[string][]v1alpha1.ProfileBinding{}
	for _, b := range bindings {
		byNS[b.Namespace] = append(byNS[b.Namespace], b)
	}
	type nsChain struct {
		ns   string
		path func(string) string
	}
	var chains []nsChain
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		path, _, err := chosenCEL(byNS[ns])
		if err != nil {
			continue
		}
		chains = append(chains, nsChain{ns, path})
	}
	if len(chains) == 0 {
		return nil, ""
	}
	bound = func(c string) string {
		out := "''"
		for i := len(chains) - 1; i >= 0; i-- {
			out = "(request.namespace == " + quote(chains[i].ns) + " ? " + chains[i].path(c) + " : " + out + ")"
		}
		return out
	}
	if n := len(bound("c")); n > templateBindingsBudget {
		return nil, fmt.Sprintf("the workload-template check judges templates without the ProfileBindings: the %d bindings need %d characters of CEL, more than its budget of %d", len(bindings), n, templateBindingsBudget)
	}
	return bound, ""
}

// templates compiles the workload-template policy: the allowed list and
// the installed check on the template's pods, where a pod-level profile
// the template leaves unset counts as the policy's default (the pods will
// get it at creation).
func templates(p *v1alpha1.SeccompPolicy, defProfile *corev1.SeccompProfile, gov string, nsSel *metav1.LabelSelector, labels map[string]string, bindings []v1alpha1.ProfileBinding, ix indexCEL) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, string) {
	def := ""
	if defProfile != nil {
		def = normalForm(defProfile)
	}
	src := templateSource
	var note string
	if src.bound, note = boundCEL(bindings); src.bound != nil {
		src.prelude = append(slices.Clone(src.prelude), templateLabels)
	}
	prefix := quote("SeccompPolicy "+p.Name+", for the pods of this ") + " + request.kind.kind + ': '"
	vars, check, _ := validation(p, gov, src, def, ix, len(p.Spec.AllowedProfiles) > 0, true, prefix)
	name := TemplatesName(p.Name)
	vap := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			ParamKind:        ix.paramKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			MatchConditions:  matchConditions(p, templateSource),
			Variables:        vars,
			Validations:      []admissionv1.Validation{check},
			FailurePolicy:    ptr.To(admissionv1.Ignore), // advice must never block a workload
		},
	}
	act := admissionv1.Warn
	if p.Spec.Mode == v1alpha1.PolicyModeAudit {
		act = admissionv1.Audit
	}
	bind := binding(name, labels, nsSel, act, ix.params)
	return vap, bind, note
}

// workloadRules match CREATE and UPDATE of the workloads whose pod
// templates are checked.
func workloadRules() []admissionv1.NamedRuleWithOperations {
	workloads := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources,
				Scope: ptr.To(admissionv1.NamespacedScope)},
		}}
	}
	return []admissionv1.NamedRuleWithOperations{
		workloads("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		workloads("batch", "jobs", "cronjobs"),
	}
}

// normalForm is the profile p in the normal form the CEL compares (see
// fieldForm), for the literal of a template's default.
func normalForm(p *corev1.SeccompProfile) string {
	if p.Type == corev1.SeccompProfileTypeLocalhost {
		return "localhost/" + ptr.Deref(p.LocalhostProfile, "")
	}
	return string(p.Type)
}
