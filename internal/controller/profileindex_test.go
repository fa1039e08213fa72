package controller

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestIndexValue(t *testing.T) {
	prof := func(disabled bool, total int32, conds ...metav1.Condition) *v1alpha1.SeccompProfile {
		p := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 2}}
		p.Spec.Disabled, p.Status.NodesTotal, p.Status.Conditions = disabled, total, conds
		return p
	}
	cond := func(typ string, st metav1.ConditionStatus, gen int64, msg string) metav1.Condition {
		return metav1.Condition{Type: typ, Status: st, ObservedGeneration: gen, Message: msg}
	}
	ready := cond(v1alpha1.ConditionReady, metav1.ConditionTrue, 2, "")
	for _, c := range []struct {
		name string
		p    *v1alpha1.SeccompProfile
		want string
	}{
		{"disabled", prof(true, 3), "disabled"},
		{"not reconciled", prof(false, 3), "not processed by the manager yet"},
		{"stale Ready", prof(false, 3, cond(v1alpha1.ConditionReady, metav1.ConditionTrue, 1, "")), "not processed by the manager yet"},
		{"invalid", prof(false, 3, cond(v1alpha1.ConditionReady, metav1.ConditionFalse, 2, "syscalls[0]: bad")), "invalid: syscalls[0]: bad"},
		{"installed", prof(false, 3, ready, cond(v1alpha1.ConditionInstalled, metav1.ConditionTrue, 2, "")), "Installed"},
		{"installed, older generation", prof(false, 3, ready, cond(v1alpha1.ConditionInstalled, metav1.ConditionTrue, 1, "")), "not installed on every node yet"},
		{"pending", prof(false, 3, ready, cond(v1alpha1.ConditionInstalled, metav1.ConditionFalse, 2, "installed on 1 of 3 nodes")), "not installed on every node yet: installed on 1 of 3 nodes"},
		{"no node at all", prof(false, 0, ready, cond(v1alpha1.ConditionInstalled, metav1.ConditionFalse, 2, "installed on 0 of 0 nodes")), "Installed"},
	} {
		if got := IndexValue(c.p); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
