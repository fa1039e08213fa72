package policy

import (
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Governing is the policy that governs a namespace with the given labels,
// nil for none: of the policies CheckPolicy accepts (the others take no
// part), the first in precedence whose namespaceSelector selects it. For
// the reports that are not admission (the unconfined report).
func Governing(policies []v1alpha1.SeccompPolicy, namespaceLabels map[string]string) *v1alpha1.SeccompPolicy {
	var gov *v1alpha1.SeccompPolicy
	for i := range policies {
		p := &policies[i]
		if gov != nil && !Precedes(p, gov) || CheckPolicy(p) != nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err == nil && sel.Matches(labels.Set(namespaceLabels)) {
			gov = p
		}
	}
	return gov
}

// Exempts reports whether the policy's own spec.exemptions cover the
// request: its namespace, user or runtime class. For the reports that are
// not admission (the unconfined report); admission reads the exemptions
// from the compiled policies.
func Exempts(p *v1alpha1.SeccompPolicy, req Request) bool {
	if slices.Contains(p.Spec.Exemptions.Namespaces, req.Pod.Namespace) {
		return true
	}
	if slices.Contains(p.Spec.Exemptions.Usernames, req.Username) {
		return true
	}
	rc := req.Pod.Spec.RuntimeClassName
	return rc != nil && slices.Contains(p.Spec.Exemptions.RuntimeClasses, *rc)
}
