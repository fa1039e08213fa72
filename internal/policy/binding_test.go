package policy

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestImagePatterns(t *testing.T) {
	for _, c := range []struct {
		pattern, image string
		match          bool
	}{
		{"docker.io/library/nginx:*", "docker.io/library/nginx:1.25", true},
		{"docker.io/library/nginx:*", "nginx:1.25", false}, // as written, not normalised
		{"*/nginx*", "registry.example/team/nginx-unprivileged:1", true},
		{"nginx", "nginx:1", false},
		{"a.b/c", "aXb/c", false}, // "." is literal
		{"*", "", true},
		{"quay.io/x@sha256:*", "quay.io/x@sha256:abc", true},
	} {
		st := State{Bindings: []v1alpha1.ProfileBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"},
			Spec: v1alpha1.ProfileBindingSpec{ProfileName: "p", Images: []string{c.pattern}}}}}
		d, err := Evaluate(Request{Describe: true, Pod: &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
			Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: c.image}}}}}, st)
		if err != nil {
			t.Fatalf("%q: %v", c.pattern, err)
		}
		got := d.Bound["c"] == "b"
		if c.image == "" {
			c.match = false // a container without an image matches no image pattern (CEL: has(c.image))
		}
		if got != c.match {
			t.Errorf("%q against %q: %v, want %v", c.pattern, c.image, got, c.match)
		}
	}
}

func TestBindings(t *testing.T) {
	mk := func(name string, prio int32, spec v1alpha1.ProfileBindingSpec) v1alpha1.ProfileBinding {
		spec.Priority = prio
		return v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Spec: spec}
	}
	bindings := []v1alpha1.ProfileBinding{
		mk("b-image", 0, v1alpha1.ProfileBindingSpec{ProfileName: "web", Images: []string{"*nginx*"}}),
		mk("a-image", 0, v1alpha1.ProfileBindingSpec{ProfileName: "web-a", Images: []string{"*nginx:1*"}}),
		mk("label", 5, v1alpha1.ProfileBindingSpec{ProfileName: "legacy", PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "old"}}}),
		mk("other-ns", 100, v1alpha1.ProfileBindingSpec{ProfileName: "x", ContainerNames: []string{"web"}}),
	}
	bindings[3].Namespace = "elsewhere"
	index := &v1alpha1.SeccompProfileIndex{Installed: ",web,web-a,", NotInstalled: map[string]string{"legacy": "disabled"}}
	st := State{Bindings: bindings, Index: index}
	pod := func(labels, ann map[string]string, cs ...corev1.Container) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p", Labels: labels, Annotations: ann}, Spec: corev1.PodSpec{Containers: cs}}
	}
	profileOf := func(c corev1.Container) string {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			return ""
		}
		return normalForm(c.SecurityContext.SeccompProfile)
	}
	for _, c := range []struct {
		name    string
		pod     *corev1.Pod
		want    []string // each container's profile after admission
		missing string
	}{
		{"tie on priority goes to the name that sorts first", pod(nil, nil, corev1.Container{Name: "web", Image: "nginx:1.25"}),
			[]string{"localhost/operator/web-a.json"}, ""},
		{"only one binding matches", pod(nil, nil, corev1.Container{Name: "web", Image: "nginx:2"}),
			[]string{"localhost/operator/web.json"}, ""},
		{"priority beats name; disabled profile refused", pod(map[string]string{"app": "old"}, nil, corev1.Container{Name: "web", Image: "nginx:1"}),
			[]string{"localhost/operator/legacy.json"}, "container web: ProfileBinding label binds SeccompProfile legacy, which is disabled"},
		{"explicit field wins", pod(nil, nil, corev1.Container{Name: "web", Image: "nginx:1", SecurityContext: &corev1.SecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}}),
			[]string{"RuntimeDefault"}, ""},
		{"legacy container annotation wins", pod(nil, map[string]string{"container.seccomp.security.alpha.kubernetes.io/web": "runtime/default"},
			corev1.Container{Name: "web", Image: "nginx:1"}), []string{""}, ""},
		{"bindings of other namespaces do not apply", pod(nil, nil, corev1.Container{Name: "web", Image: "busybox"}), []string{""}, ""},
		{"the user naming the bound profile is judged too", pod(map[string]string{"app": "old"}, nil, corev1.Container{Name: "web", Image: "x",
			SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/legacy.json")}}}),
			[]string{"localhost/operator/legacy.json"}, "which is disabled"},
	} {
		d, err := Evaluate(Request{Describe: true, Pod: c.pod}, st)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		for i, w := range c.want {
			if got := profileOf(d.Pod.Spec.Containers[i]); got != w {
				t.Errorf("%s: container %d: %q, want %q", c.name, i, got, w)
			}
		}
		if c.missing == "" && d.BindingMissing != "" || c.missing != "" && !strings.Contains(d.BindingMissing, c.missing) {
			t.Errorf("%s: BindingMissing %q, want %q", c.name, d.BindingMissing, c.missing)
		}
		if d.Refused() != (c.missing != "") {
			t.Errorf("%s: Refused %v", c.name, d.Refused())
		}
	}
	// The compiled chain lists the bindings of the namespace in the same
	// precedence order.
	o, err := CompileBindings("ns", bindings[:3], nil)
	if err != nil {
		t.Fatal(err)
	}
	expr := o.Mutating.Spec.Mutations[0].JSONPatch.Expression[strings.Index(o.Mutating.Spec.Mutations[0].JSONPatch.Expression, "object.spec.containers.transformList"):]
	il, ia, ib := strings.Index(expr, "operator/legacy.json"), strings.Index(expr, "operator/web-a.json"), strings.Index(expr, "operator/web.json")
	if il < 0 || !(il < ia && ia < ib) {
		t.Errorf("precedence chain out of order: legacy %d, web-a %d, web %d", il, ia, ib)
	}
	if o, _ := CompileBindings("ns", nil, nil); o.Mutating != nil {
		t.Error("no bindings must compile to no objects")
	}
}
