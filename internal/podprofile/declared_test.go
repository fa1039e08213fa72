package podprofile

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// The declared form is what the node state carries and every report shows:
// one spelling per resolved profile, read back to the same type and path.
func TestDeclared(t *testing.T) {
	pod := &corev1.Pod{}
	pod.Annotations = map[string]string{ContainerAnnotationPrefix + "legacy": "localhost/./operator/legacy.json"}
	pod.Spec.Containers = []corev1.Container{
		{Name: "rd", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}},
		{Name: "un", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}},
		{Name: "lh", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("./operator/webapp.json")}},
		{Name: "legacy"},
		{Name: "none"},
	}
	for c, want := range map[string]string{
		"rd":     "RuntimeDefault",
		"un":     "Unconfined",
		"lh":     "Localhost/operator/webapp.json",
		"legacy": "Localhost/operator/legacy.json",
		"none":   "NodeDefault",
	} {
		r := Effective(pod, c)
		if got := r.Declared(); got != want {
			t.Errorf("Effective(%s).Declared() = %q, want %q", c, got, want)
		}
		back, ok := ParseDeclared(want)
		if !ok || back.Type != r.Type || back.LocalhostProfile != r.LocalhostProfile {
			t.Errorf("ParseDeclared(%q) = %+v, %v; want type %q path %q", want, back, ok, r.Type, r.LocalhostProfile)
		}
	}
	if back, _ := ParseDeclared("NodeDefault"); back.Source != SourceNodeDefault {
		t.Errorf("ParseDeclared(NodeDefault).Source = %q", back.Source)
	}
	for _, bad := range []string{"", "localhost/operator/a.json", "runtime/default", "unconfined", "Localhost"} {
		if r, ok := ParseDeclared(bad); ok {
			t.Errorf("ParseDeclared(%q) = %+v, accepted", bad, r)
		}
	}
}

// FuzzParseDeclared: the declared form comes from node state objects, which
// anything with write access could fill; reading it must not panic, and
// whatever it accepts must write back to the same text.
func FuzzParseDeclared(f *testing.F) {
	for _, s := range []string{"RuntimeDefault", "Unconfined", "NodeDefault", "Localhost/operator/a.json", "Localhost/", "localhost/x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, ok := ParseDeclared(s)
		if ok && r.Declared() != s {
			t.Fatalf("ParseDeclared(%q) = %+v writes back as %q", s, r, r.Declared())
		}
	})
}

// Declare names the SeccompProfile of an operator path only, and reads the
// privileged flag of init, regular and ephemeral containers alike.
func TestDeclare(t *testing.T) {
	priv := &corev1.SecurityContext{Privileged: ptr.To(true)}
	pod := &corev1.Pod{}
	pod.Spec.InitContainers = []corev1.Container{{Name: "init", SecurityContext: priv}}
	pod.Spec.Containers = []corev1.Container{
		{Name: "op", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("operator/webapp.json")}},
		{Name: "own", SecurityContext: &corev1.SecurityContext{SeccompProfile: localhost("custom/x.json")}},
		{Name: "none"},
	}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg", SecurityContext: priv}}}
	for name, want := range map[string]Declaration{
		"init": {Declared: DeclaredNodeDefault, Privileged: true},
		"op":   {Declared: "Localhost/operator/webapp.json", Profile: "webapp"},
		"own":  {Declared: "Localhost/custom/x.json"},
		"none": {Declared: DeclaredNodeDefault},
		"dbg":  {Declared: DeclaredNodeDefault, Privileged: true},
	} {
		if got := Declare(pod, name); got != want {
			t.Errorf("%s: %+v, want %+v", name, got, want)
		}
	}
}
