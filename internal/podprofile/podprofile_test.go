package podprofile

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func localhost(p string) *corev1.SeccompProfile {
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(p)}
}

func TestEffectiveOrder(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Annotations = map[string]string{
		PodAnnotation:                     "localhost/pod-annotation.json",
		ContainerAnnotationPrefix + "ann": "runtime/default",
	}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: localhost("./operator/pod.json")}
	pod.Spec.Containers = []corev1.Container{
		{Name: "field", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("operator/field.json")}},
		{Name: "ann"},
		{Name: "plain"},
	}
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}}}
	for _, tc := range []struct {
		container string
		want      Ref
	}{
		{"field", Ref{corev1.SeccompProfileTypeLocalhost, "operator/field.json", SourceContainerField}},
		{"ann", Ref{corev1.SeccompProfileTypeRuntimeDefault, "", SourceContainerAnnotation}},
		{"plain", Ref{corev1.SeccompProfileTypeLocalhost, "operator/pod.json", SourcePodField}},
		{"init", Ref{corev1.SeccompProfileTypeUnconfined, "", SourceContainerField}},
	} {
		if got := Effective(pod, tc.container); got != tc.want {
			t.Errorf("Effective(%s) = %+v, want %+v", tc.container, got, tc.want)
		}
	}
	pod.Spec.SecurityContext = nil
	if got := Effective(pod, "plain"); got != (Ref{corev1.SeccompProfileTypeLocalhost, "pod-annotation.json", SourcePodAnnotation}) {
		t.Errorf("pod annotation: %+v", got)
	}
	pod.Annotations = nil
	if got := Effective(pod, "plain"); got.Source != SourceNodeDefault || got.Type != "" {
		t.Errorf("node default: %+v", got)
	}
}

func TestLocalhostPaths(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Annotations = map[string]string{
		PodAnnotation:                     "localhost/operator/legacy.json",
		ContainerAnnotationPrefix + "a":   "localhost/operator/legacy-c.json",
		ContainerAnnotationPrefix + "b":   "unconfined",
		"unrelated.example.com/localhost": "localhost/operator/not-a-profile.json",
	}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: localhost("operator/pod.json")}
	pod.Spec.Containers = []corev1.Container{
		{Name: "a", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("operator/a.json")}},
		{Name: "dup", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("./operator/a.json")}},
		{Name: "rd", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}},
	}
	pod.Spec.InitContainers = []corev1.Container{{Name: "i", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("profiles/kubernetes/seccomp-k8s-webapp-profile.json")}}}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("operator/debug.json")}}}}
	got := LocalhostPaths(pod)
	want := []string{"operator/a.json", "operator/debug.json", "operator/legacy-c.json", "operator/legacy.json", "operator/pod.json", "profiles/kubernetes/seccomp-k8s-webapp-profile.json"}
	if !slices.Equal(got, want) {
		t.Fatalf("LocalhostPaths = %v\nwant %v", got, want)
	}
	if got := LocalhostPaths(&corev1.Pod{}); len(got) != 0 {
		t.Fatalf("empty pod: %v", got)
	}
}

func TestCleanKeepsEscapes(t *testing.T) {
	for in, want := range map[string]string{
		"operator/../operator/a.json": "operator/a.json",
		"../etc/passwd":               "../etc/passwd",
		"/abs.json":                   "/abs.json",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
}

// A container that sets both the field and the legacy container
// annotation runs with the field's profile: the kubelet reads the field
// first. (TestEffectiveOrder has no container with both, so it let a
// swapped order pass.)
func TestEffectiveFieldBeforeContainerAnnotation(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Annotations = map[string]string{ContainerAnnotationPrefix + "both": "unconfined"}
	pod.Spec.Containers = []corev1.Container{{Name: "both", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("operator/field.json")}}}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "debug", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}}}
	pod.Annotations[ContainerAnnotationPrefix+"debug"] = "localhost/operator/x.json"
	if got, want := Effective(pod, "both"), (Ref{corev1.SeccompProfileTypeLocalhost, "operator/field.json", SourceContainerField}); got != want {
		t.Errorf("Effective(both) = %+v, want %+v", got, want)
	}
	if got, want := Effective(pod, "debug"), (Ref{corev1.SeccompProfileTypeRuntimeDefault, "", SourceContainerField}); got != want {
		t.Errorf("Effective(debug) = %+v, want %+v", got, want)
	}
}
