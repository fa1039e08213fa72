package pods

import (
	"strings"
	"testing"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// The configuration's webhooks reach only the namespaces a valid policy
// governs (failing closed only for enforce) or that hold valid bindings
// (failing open), never kube-system or the operator's own, whatever their
// labels; with nothing to enforce there is no configuration.
func TestWebhooksReachOnlyGovernedNamespaces(t *testing.T) {
	r := &ConfigReconciler{OperatorNamespace: "op", URL: "https://localhost:9443"}
	if w := r.Webhooks(nil, nil); len(w) != 0 {
		t.Fatalf("no policy, no binding: %d webhooks", len(w))
	}
	pol := func(name string, mode v1alpha1.PolicyMode, team string, allowed ...v1alpha1.AllowedProfile) v1alpha1.SeccompPolicy {
		return v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": team}},
			Mode:              mode, AllowedProfiles: allowed,
			Exemptions: v1alpha1.PolicyExemptions{Namespaces: []string{"team-a-exempt"}}}}
	}
	policies := []v1alpha1.SeccompPolicy{
		pol("warn", v1alpha1.PolicyModeWarn, "b", "RuntimeDefault"),
		pol("enforce", "", "a", "RuntimeDefault"),
		pol("typo", v1alpha1.PolicyModeEnforce, "c", "team..a"), // invalid: no webhook
	}
	bind := func(ns, profile string) v1alpha1.ProfileBinding {
		return v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "b"},
			Spec: v1alpha1.ProfileBindingSpec{ProfileName: profile, ContainerNames: []string{"app"}}}
	}
	bindings := []v1alpha1.ProfileBinding{bind("bound", "web"), bind("bound", "web2"), bind("typo-bound", "a..b"), bind("kube-system", "web"), bind("op", "web")}
	hooks := r.Webhooks(policies, bindings)
	if len(hooks) != 6 {
		t.Fatalf("%d webhooks, want 6 (pods and workloads of the bindings, enforce and warn)", len(hooks))
	}
	// reached lists the webhooks whose selector selects a namespace.
	reached := func(name string, l map[string]string) []admissionregv1.MutatingWebhook {
		set := labels.Set{corev1.LabelMetadataName: name}
		for k, v := range l {
			set[k] = v
		}
		var out []admissionregv1.MutatingWebhook
		for _, h := range hooks {
			sel, err := metav1.LabelSelectorAsSelector(h.NamespaceSelector)
			if err != nil {
				t.Fatalf("%s: %v", h.Name, err)
			}
			if sel.Matches(set) {
				out = append(out, h)
			}
		}
		return out
	}
	for _, c := range []struct {
		ns     string
		labels map[string]string
		want   []string // webhook names
		fail   bool     // the pods webhook fails closed
	}{
		{"kube-system", map[string]string{"team": "a"}, nil, false},
		{"op", map[string]string{"team": "a"}, nil, false},
		{"kube-public", nil, nil, false},
		{"team-a-exempt", map[string]string{"team": "a"}, nil, false},
		{"typo-ns", map[string]string{"team": "c"}, nil, false},
		{"typo-bound", nil, nil, false},
		{"apps", map[string]string{"team": "a"}, []string{"enforce.policy.pods.seccomp-operator.dev", "enforce.policy.workloads.seccomp-operator.dev"}, true},
		{"web", map[string]string{"team": "b"}, []string{"warn.policy.pods.seccomp-operator.dev", "warn.policy.workloads.seccomp-operator.dev"}, false},
		{"bound", nil, []string{"bindings.pods.seccomp-operator.dev", "bindings.workloads.seccomp-operator.dev"}, false},
	} {
		got := reached(c.ns, c.labels)
		var names []string
		for _, h := range got {
			names = append(names, h.Name)
			if fail := *h.FailurePolicy == admissionregv1.Fail; fail != (c.fail && h.Name == names[0]) {
				t.Errorf("namespace %s: webhook %s fails closed: %v", c.ns, h.Name, fail)
			}
		}
		if len(names) != len(c.want) || len(names) > 0 && (names[0] != c.want[0] || names[1] != c.want[1]) {
			t.Errorf("namespace %s reaches %v, want %v", c.ns, names, c.want)
		}
	}
	// The bindings come first: the policies judge pods as bound.
	if hooks[0].Name != "bindings.pods.seccomp-operator.dev" || *hooks[0].ClientConfig.URL != "https://localhost:9443"+PodsPath+"/bindings" ||
		*hooks[2].ClientConfig.URL != "https://localhost:9443"+PodsPath+"/closed/enforce" || *hooks[4].ClientConfig.URL != "https://localhost:9443"+PodsPath+"/open/warn" {
		t.Errorf("order or paths: %s %s, %s, %s", hooks[0].Name, *hooks[0].ClientConfig.URL, *hooks[2].ClientConfig.URL, *hooks[4].ClientConfig.URL)
	}
	for _, h := range hooks {
		if h.Rules[0].Resources[0] != "pods" {
			continue
		}
		s, ok := scopeOf(PodsPath, strings.TrimPrefix(*h.ClientConfig.URL, r.URL))
		if !ok || s.Closed != (*h.FailurePolicy == admissionregv1.Fail) {
			t.Errorf("%s: the handler's scope %+v (%v) disagrees with failurePolicy %s", h.Name, s, ok, *h.FailurePolicy)
		}
	}
}
