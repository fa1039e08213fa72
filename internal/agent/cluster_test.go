package agent

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Only spec and label changes of a profile start a pass; the manager's
// status writes do not (they would make every node re-list during a rollout).
func TestProfileChangedIgnoresStatusWrites(t *testing.T) {
	base := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 1, ResourceVersion: "5", Labels: map[string]string{"a": "1"}}}
	status := base.DeepCopy()
	status.ResourceVersion = "6"
	status.Status.NodesTotal = 100
	spec := base.DeepCopy()
	spec.Generation = 2
	relabel := base.DeepCopy()
	relabel.Labels = map[string]string{"a": "2"}
	unlabel := base.DeepCopy()
	unlabel.Labels = nil
	for _, tc := range []struct {
		name     string
		old, new any
		want     bool
	}{
		{"status write", base, status, false},
		{"spec change", base, spec, true},
		{"label value", base, relabel, true},
		{"label removed", base, unlabel, true},
		{"not a profile", base, &corev1.Pod{}, true},
	} {
		if got := profileChanged(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: changed=%v, want %v", tc.name, got, tc.want)
		}
	}
}

// The informer's copies keep only what rendering reads.
func TestTrimProfileKeepsWhatRenderingReads(t *testing.T) {
	sp := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3, ResourceVersion: "9", Labels: map[string]string{"a": "1"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec:   v1alpha1.SeccompProfileSpec{BaseProfileName: "base"},
		Status: v1alpha1.SeccompProfileStatus{NodesTotal: 100},
	}
	got, err := trimProfile(sp)
	if err != nil {
		t.Fatal(err)
	}
	out := got.(*v1alpha1.SeccompProfile)
	if out.Name != "p" || out.Generation != 3 || out.ResourceVersion != "9" || out.Labels["a"] != "1" || out.Spec.BaseProfileName != "base" {
		t.Fatalf("lost what rendering reads: %+v", out)
	}
	if out.Annotations != nil || out.ManagedFields != nil || out.Status.NodesTotal != 0 {
		t.Fatalf("kept what no node reads: %+v", out)
	}
}

// A deletion tombstone passes the trims unchanged; any other type is an error.
func TestTrimsPassTombstonesAndRefuseOtherTypes(t *testing.T) {
	tomb := toolscache.DeletedFinalStateUnknown{Key: "p"}
	for name, trim := range map[string]toolscache.TransformFunc{"profile": trimProfile, "pod": trimPod} {
		if got, err := trim(tomb); err != nil || got != any(tomb) {
			t.Errorf("%s: tombstone gave %v, %v", name, got, err)
		}
		if _, err := trim(&corev1.Node{}); err == nil {
			t.Errorf("%s: no error for a Node", name)
		}
	}
}
