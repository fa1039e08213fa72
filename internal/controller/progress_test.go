package controller

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestProgressOnly(t *testing.T) {
	status := func(installed metav1.ConditionStatus, n, total int32, ready metav1.ConditionStatus) *v1alpha1.SeccompProfileStatus {
		return &v1alpha1.SeccompProfileStatus{
			NodesInstalled: n, NodesTotal: total,
			Conditions: []metav1.Condition{
				{Type: v1alpha1.ConditionReady, Status: ready, Reason: "R"},
				{Type: v1alpha1.ConditionInstalled, Status: installed, Reason: "I"},
			},
		}
	}
	f, tr := metav1.ConditionFalse, metav1.ConditionTrue
	for _, c := range []struct {
		name string
		a, b *v1alpha1.SeccompProfileStatus
		want bool
	}{
		{"one more node of many", status(f, 3, 100, tr), status(f, 4, 100, tr), true},
		{"a node joins an installed profile's count", status(tr, 100, 100, tr), status(tr, 101, 101, tr), true},
		{"the last node: Installed turns true", status(f, 99, 100, tr), status(tr, 100, 100, tr), false},
		{"a new node without it: Installed turns false", status(tr, 1, 1, tr), status(f, 1, 2, tr), false},
		{"the profile itself changed", status(f, 3, 100, tr), status(f, 3, 100, f), false},
	} {
		if got := progressOnly(c.a, c.b); got != c.want {
			t.Errorf("%s: progressOnly = %v, want %v", c.name, got, c.want)
		}
	}
}
