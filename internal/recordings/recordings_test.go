package recordings

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

func rec(ns, name string) *v1alpha1.ProfileRecording {
	r := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	r.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}
	return r
}

func TestNamesAreValidDistinctAndStable(t *testing.T) {
	seen := map[string]string{}
	add := func(what, n string) {
		t.Helper()
		if err := nodepath.ValidateName(n); err != nil {
			t.Errorf("%s: %v", what, err)
		}
		if len(n) > 63 {
			t.Errorf("%s: %q longer than 63", what, n)
		}
		if prev, ok := seen[n]; ok {
			t.Errorf("%s and %s share the name %q", what, prev, n)
		}
		seen[n] = what
	}
	// Parts that read the same once joined with "-" must not collide.
	a, b := rec("a-b", "c"), rec("a", "b-c")
	add("a-b/c web", ProfileName(a, "web"))
	add("a/b-c web", ProfileName(b, "web"))
	add("a-b/c log", LogProfileName(a))
	add("a/b-c log", LogProfileName(b))
	add("a-b/c log key", ProfileName(a, "log"))
	long := rec(strings.Repeat("n", 63), strings.Repeat("r.", 120)+"x")
	add("long", ProfileName(long, strings.Repeat("c", 63)))
	add("pod/container", ProfileName(a, "web-1/nginx"))
	add("binding web", BindingName(a, "web"))
	add("binding log", BindingName(a, ""))
	if ProfileName(a, "web") != ProfileName(rec("a-b", "c"), "web") {
		t.Error("names are not stable")
	}
	if !strings.HasPrefix(ProfileName(a, "web"), "a-b-c-web-") {
		t.Errorf("not readable: %s", ProfileName(a, "web"))
	}
}

func TestSelects(t *testing.T) {
	r := rec("team", "rec")
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team", Labels: map[string]string{"app": "web"}}}
	if !Selects(r, pod) {
		t.Error("matching pod not selected")
	}
	other := pod.DeepCopy()
	other.Namespace = "elsewhere"
	if Selects(r, other) {
		t.Error("a pod of another namespace selected")
	}
	other = pod.DeepCopy()
	other.Labels["app"] = "db"
	if Selects(r, other) {
		t.Error("a pod with other labels selected")
	}
	bad := rec("team", "rec")
	bad.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "Bogus"}}}
	if Selects(bad, pod) {
		t.Error("an invalid selector selected a pod")
	}
	if !RecordsContainer(r, "any") {
		t.Error("no container list must record every container")
	}
	r.Spec.Containers = []string{"nginx"}
	if RecordsContainer(r, "sidecar") || !RecordsContainer(r, "nginx") {
		t.Error("container list not applied")
	}
	if MergeKey(r, "web-1", "nginx") != "nginx" {
		t.Error("containers strategy keys by container name")
	}
	r.Spec.MergeStrategy = v1alpha1.MergeNone
	if MergeKey(r, "web-1", "nginx") != "web-1/nginx" {
		t.Error("none strategy keys by pod and container")
	}
}

func TestUsesKernelThroughTheSoak(t *testing.T) {
	r := rec("team", "rec")
	for _, c := range []struct {
		recorder v1alpha1.RecorderKind
		mode     v1alpha1.RecordingMode
		phase    v1alpha1.RecordingPhase
		want     bool
	}{
		{"", "", "", true},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeRecording, v1alpha1.RecordingPhaseRecording, true},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeApplying, v1alpha1.RecordingPhaseRecording, true},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeApplying, v1alpha1.RecordingPhaseVerifying, true},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeApplying, v1alpha1.RecordingPhaseEnforcing, false},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeApplying, v1alpha1.RecordingPhaseFailed, false},
		{v1alpha1.RecorderEBPF, v1alpha1.RecordingModeDisabled, "", false},
		{v1alpha1.RecorderLog, v1alpha1.RecordingModeRecording, "", false},
	} {
		r.Spec.Recorder, r.Spec.Mode, r.Status.Phase = c.recorder, c.mode, c.phase
		if got := UsesKernel(r); got != c.want {
			t.Errorf("recorder %q mode %q phase %q: %v, want %v", c.recorder, c.mode, c.phase, got, c.want)
		}
	}
}
