package policy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Unit cases for Evaluate; test/integration/policy_cases_test.go proves it
// equal to the apiserver's CEL on a wider table.
func TestEvaluate(t *testing.T) {
	enforce := pol("enforce", 0, metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}, func(s *v1alpha1.SeccompPolicySpec) {
		s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault", "web-*"}
		s.Exemptions.Usernames = []string{"ci"}
	})
	override := pol("override", 3, metav1.LabelSelector{MatchLabels: map[string]string{"tier": "x"}}, func(s *v1alpha1.SeccompPolicySpec) {
		s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: "web-api"}
		s.Mode = v1alpha1.PolicyModeWarn
	})
	all := []v1alpha1.SeccompPolicy{enforce, override}
	index := &v1alpha1.SeccompProfileIndex{Installed: ",web-api,", NotInstalled: map[string]string{"web-new": "not installed on every node yet: installed on 1 of 3 nodes"}}
	pod := func(mutate func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app"}}}}
		if mutate != nil {
			mutate(p)
		}
		return p
	}
	localhost := func(path string) *corev1.SeccompProfile {
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(path)}
	}
	for _, c := range []struct {
		name     string
		labels   map[string]string
		user     string
		pod      *corev1.Pod
		policy   string
		refused  bool
		contains string // in Violations+Missing
		podLevel string // the pod-level field after mutation
	}{
		{"no policy", map[string]string{"team": "b"}, "", pod(nil), "", false, "", ""},
		{"default written", map[string]string{"team": "a"}, "", pod(nil), "enforce", false, "", "RuntimeDefault"},
		{"exempt user", map[string]string{"team": "a"}, "ci", pod(nil), "", false, "", ""},
		{"not allowed", map[string]string{"team": "a"}, "", pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
		}), "enforce", true, "container app: Unconfined (allowed: RuntimeDefault, web-*)", "RuntimeDefault"},
		{"allowed but not installed", map[string]string{"team": "a"}, "", pod(func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: localhost("operator/web-new.json")}
		}), "enforce", true, "SeccompProfile web-new is not installed on every node yet: installed on 1 of 3 nodes", "localhost/operator/web-new.json"},
		{"pod annotation becomes the field, no default", map[string]string{"team": "a"}, "", pod(func(p *corev1.Pod) {
			p.Annotations = map[string]string{"seccomp.security.alpha.kubernetes.io/pod": "localhost/operator/web-api.json"}
		}), "enforce", false, "", "localhost/operator/web-api.json"},
		{"higher priority governs, warn only", map[string]string{"team": "a", "tier": "x"}, "", pod(func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: localhost("operator/web-gone.json")}
		}), "override", false, "no SeccompProfile web-gone exists", "localhost/operator/web-api.json"},
	} {
		d, err := Evaluate(Request{Describe: true, Pod: c.pod, NamespaceLabels: c.labels, Username: c.user}, State{Policies: all, Index: index, OperatorNamespace: "seccomp-operator"})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		got := ""
		if sc := d.Pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
			got = normalForm(sc.SeccompProfile)
		}
		msgs := d.Violations + d.Missing
		switch {
		case d.Policy != c.policy:
			t.Errorf("%s: governed by %q, want %q", c.name, d.Policy, c.policy)
		case d.Refused() != c.refused:
			t.Errorf("%s: refused %v, want %v (%s)", c.name, d.Refused(), c.refused, msgs)
		case c.contains != "" && !strings.Contains(msgs, c.contains) || c.contains == "" && msgs != "":
			t.Errorf("%s: messages %q, want %q", c.name, msgs, c.contains)
		case got != c.podLevel:
			t.Errorf("%s: pod-level after mutation %q, want %q", c.name, got, c.podLevel)
		case d.Translated != strings.Contains(c.name, "annotation becomes"):
			t.Errorf("%s: Translated %v", c.name, d.Translated)
		}
	}
	orig := pod(nil)
	if _, err := Evaluate(Request{Describe: true, Pod: orig, NamespaceLabels: map[string]string{"team": "a"}}, State{Policies: all, Index: index}); err != nil {
		t.Fatal(err)
	}
	if orig.Spec.SecurityContext != nil {
		t.Error("Evaluate changed the request's pod; it must work on a copy")
	}
}

// A container that sets both the field and the legacy container
// annotation is judged by the field, as the kubelet runs it (podprofile's
// order), for a CREATE and for an ephemeral container alike: an allowed
// field with a forbidden annotation is admitted, the reverse refused.
func TestJudgeFieldBeforeContainerAnnotation(t *testing.T) {
	p := pol("p", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault"}
	})
	st := State{Policies: []v1alpha1.SeccompPolicy{p}, OperatorNamespace: "op"}
	field := func(typ corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: typ}}
	}
	for _, c := range []struct {
		field, annotation  string
		ephemeral, refused bool
	}{
		{"RuntimeDefault", "unconfined", false, false},
		{"Unconfined", "runtime/default", false, true},
		{"RuntimeDefault", "unconfined", true, false},
		{"Unconfined", "runtime/default", true, true},
	} {
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p",
			Annotations: map[string]string{"container.seccomp.security.alpha.kubernetes.io/app": c.annotation}},
			Spec: corev1.PodSpec{SecurityContext: &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}}
		if c.ephemeral {
			pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "app", SecurityContext: field(corev1.SeccompProfileType(c.field))}}}
		} else {
			pod.Spec.Containers = []corev1.Container{{Name: "app", SecurityContext: field(corev1.SeccompProfileType(c.field))}}
		}
		d, err := Evaluate(Request{Describe: true, Pod: pod, Ephemeral: c.ephemeral}, st)
		if err != nil || d.Refused() != c.refused {
			t.Errorf("field %s, annotation %s, ephemeral %v: refused %v (%q), %v; want refused %v", c.field, c.annotation, c.ephemeral, d.Refused(), d.Violations, err, c.refused)
		}
	}
}
