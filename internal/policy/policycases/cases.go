// Package policycases is the table of admission cases every path that
// decides pod admission is tested on: the compiled policies run
// in-process (internal/policy's unit tests), the fallback webhook
// (internal/webhook/pods) and the kube-apiserver itself
// (test/integration, which asserts in-process == apiserver on the same
// cases, to catch version skew).
package policycases

import (
	"slices"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Namespaces are the table's namespaces and their labels.
var Namespaces = map[string]map[string]string{
	"cases-enforce": {"cases": "enforce"},
	"cases-warn":    {"cases": "warn"},
	"cases-exempt":  {"cases": "enforce"},
	"cases-tier":    {"cases": "enforce", "tier": "x"},
	"cases-none":    {"other": "yes"},
	"cases-bound":   {"cases": "enforce"},
	// Bindings and no policy: only the bindings' own checks judge.
	"cases-bound-free": {"other": "bound"},
}

// RuntimeClass is the runtime class cases-enforce exempts.
const RuntimeClass = "cases-sandboxed"

// Profile is the one SeccompProfile of the table, installed everywhere in
// Index; cases-b and cases-zzz do not exist.
const Profile = "cases-a"

// Index is the profile index the unit tests decide with.
func Index() *v1alpha1.SeccompProfileIndex {
	return &v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName}, Installed: "," + Profile + ","}
}

// Policies are the table's SeccompPolicies.
func Policies() []v1alpha1.SeccompPolicy {
	return []v1alpha1.SeccompPolicy{
		{ObjectMeta: metav1.ObjectMeta{Name: "cases-enforce"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"cases": "enforce"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "cases-*"},
			Mode:              v1alpha1.PolicyModeEnforce,
			Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"cases-exempt"}, RuntimeClasses: []string{RuntimeClass}},
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
}

// Bindings are the table's ProfileBindings.
func Bindings() []v1alpha1.ProfileBinding {
	return []v1alpha1.ProfileBinding{
		{ObjectMeta: metav1.ObjectMeta{Name: "by-image", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-a", Images: []string{"docker.io/library/nginx:*", "*/nginx-unprivileged*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "by-label", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-b", Priority: 10, PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "legacy"}}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "by-name", Namespace: "cases-bound"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-a", ContainerNames: []string{"sidecar"}, Images: []string{"busybox*"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "to-missing", Namespace: "cases-bound-free"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "cases-b", Images: []string{"docker.io/library/nginx:*"}}},
	}
}

// Case is one pod admission.
type Case struct {
	Name, Namespace string
	Mutate          func(*corev1.Pod) // of Pod's pod; nil: none
	// Want is the decision with Index (the apiserver's index may differ:
	// the integration test compares it with the in-process decision, not
	// with Want).
	Want Want
}

// Want is what admission does with a case's pod, and with a Deployment
// whose template it is.
type Want struct {
	Refused bool
	// Messages are the failed validations' messages, "; "-joined, each as
	// the apiserver words it.
	Messages string
	// Profiles are the pod's seccomp fields after admission (Profiles).
	Profiles string
	// Template are the messages of the checks on the Deployment's
	// template, "; "-joined.
	Template string
}

// Pod is the case's pod: RestrictedPod, changed by Mutate.
func (c Case) Pod(name string) *corev1.Pod {
	p := RestrictedPod(c.Namespace, name)
	if c.Mutate != nil {
		c.Mutate(p)
	}
	return p
}

// RestrictedPod is a pod that meets Pod Security "restricted" in
// everything but seccomp.
func RestrictedPod(ns, name string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
			Containers: []corev1.Container{{
				Name: "app", Image: "nginx",
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				},
			}},
		},
	}
}

// Profiles lists the pod-level and every container's seccomp field.
func Profiles(p *corev1.Pod) string {
	field := func(sp *corev1.SeccompProfile) string {
		if sp == nil {
			return ""
		}
		v := string(sp.Type)
		if sp.LocalhostProfile != nil {
			v += ":" + *sp.LocalhostProfile
		}
		return v
	}
	out := "pod="
	if p.Spec.SecurityContext != nil {
		out += field(p.Spec.SecurityContext.SeccompProfile)
	}
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		v := ""
		if c.SecurityContext != nil {
			v = field(c.SecurityContext.SeccompProfile)
		}
		out += " " + c.Name + "=" + v
	}
	return out
}

func field(typ corev1.SeccompProfileType, path string) *corev1.SeccompProfile {
	sp := &corev1.SeccompProfile{Type: typ}
	if path != "" {
		sp.LocalhostProfile = ptr.To(path)
	}
	return sp
}

func containerProfile(sp *corev1.SeccompProfile) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.Containers[0].SecurityContext.SeccompProfile = sp }
}
