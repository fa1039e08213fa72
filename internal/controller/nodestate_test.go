package controller

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestChangedProfiles(t *testing.T) {
	st := func(name string, s v1alpha1.InstallState, hash string) v1alpha1.NodeProfileState {
		return v1alpha1.NodeProfileState{Name: name, State: s, ContentHash: hash}
	}
	before := []v1alpha1.NodeProfileState{
		st("same", v1alpha1.InstallStateInstalled, "h1"),
		st("rehashed", v1alpha1.InstallStateInstalled, "h1"),
		st("failed", v1alpha1.InstallStatePending, ""),
		st("gone", v1alpha1.InstallStateRemoving, ""),
	}
	after := []v1alpha1.NodeProfileState{
		st("same", v1alpha1.InstallStateInstalled, "h1"),
		st("rehashed", v1alpha1.InstallStateInstalled, "h2"),
		st("failed", v1alpha1.InstallStateFailed, ""),
		st("new", v1alpha1.InstallStateInstalled, "h1"),
	}
	// A new lastTransitionTime alone is not a change anybody aggregates.
	after[0].LastTransitionTime = metav1.Now()
	got := changedProfiles(before, after)
	slices.Sort(got)
	want := []string{"failed", "gone", "new", "rehashed"}
	if !slices.Equal(got, want) {
		t.Fatalf("changedProfiles = %v, want %v", got, want)
	}
	if got := changedProfiles(after, after); len(got) != 0 {
		t.Fatalf("no change reported %v", got)
	}
}

func TestProfileState(t *testing.T) {
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Compiled"}
	installed := metav1.Condition{Type: v1alpha1.ConditionInstalled, Status: metav1.ConditionTrue, Reason: "Installed"}
	mk := func(disabled bool, failed int, conds ...metav1.Condition) *v1alpha1.SeccompProfile {
		sp := &v1alpha1.SeccompProfile{}
		sp.Spec.Disabled = disabled
		for _, c := range conds {
			meta.SetStatusCondition(&sp.Status.Conditions, c)
		}
		for range failed {
			sp.Status.FailedNodes = append(sp.Status.FailedNodes, v1alpha1.NodeFailure{Node: "n"})
		}
		return sp
	}
	for _, tc := range []struct {
		sp   *v1alpha1.SeccompProfile
		want string
	}{
		{mk(true, 0, ready, installed), StateDisabled},
		{mk(false, 0), StateInvalid},
		{mk(false, 0, ready), StatePending},
		{mk(false, 1, ready), StateFailed},
		{mk(false, 0, ready, installed), StateInstalled},
	} {
		if got := ProfileState(tc.sp); got != tc.want {
			t.Errorf("ProfileState(%+v) = %s, want %s", tc.sp.Status, got, tc.want)
		}
	}
}

func TestOnlyNodeCounts(t *testing.T) {
	base := v1alpha1.SeccompProfileStatus{LocalhostProfile: "operator/a.json", ObservedGeneration: 1}
	meta.SetStatusCondition(&base.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: "Compiled"})
	counts := *base.DeepCopy()
	counts.NodesInstalled, counts.NodesTotal = 3, 5
	counts.FailedNodes = []v1alpha1.NodeFailure{{Node: "n", Message: "m"}}
	meta.SetStatusCondition(&counts.Conditions, metav1.Condition{Type: v1alpha1.ConditionInstalled, Status: metav1.ConditionFalse, Reason: "Failed"})
	if !onlyNodeCounts(&base, &counts) {
		t.Fatal("a change of node counts only is not recognised")
	}
	notReady := *counts.DeepCopy()
	meta.SetStatusCondition(&notReady.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: "Invalid"})
	if onlyNodeCounts(&counts, &notReady) {
		t.Fatal("a Ready change was taken for a node count change")
	}
	newGen := *counts.DeepCopy()
	newGen.ObservedGeneration = 2
	if onlyNodeCounts(&counts, &newGen) {
		t.Fatal("a new generation was taken for a node count change")
	}
}
