//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func newProfile(name, base string, rules ...v1alpha1.SyscallRule) *v1alpha1.SeccompProfile {
	return &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       v1alpha1.SeccompProfileSpec{BaseProfileName: base, Syscalls: rules},
	}
}

func allow(names ...string) v1alpha1.SyscallRule {
	return v1alpha1.SyscallRule{Names: names, Action: "SCMP_ACT_ALLOW"}
}

func create(t *testing.T, sp *v1alpha1.SeccompProfile) {
	t.Helper()
	if err := k8s.Create(context.Background(), sp); err != nil {
		t.Fatalf("create %s: %v", sp.Name, err)
	}
	t.Cleanup(func() { k8s.Delete(context.Background(), sp) })
}

// ready polls until the profile's Ready condition has the given status for
// its current generation, and returns the condition.
func ready(t *testing.T, name string, want metav1.ConditionStatus) metav1.Condition {
	t.Helper()
	return readyWith(t, name, want, "")
}

// readyWith is ready that also waits for the message to contain msg.
func readyWith(t *testing.T, name string, want metav1.ConditionStatus, msg string) metav1.Condition {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last *metav1.Condition
	for time.Now().Before(deadline) {
		var sp v1alpha1.SeccompProfile
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &sp); err == nil {
			c := meta.FindStatusCondition(sp.Status.Conditions, v1alpha1.ConditionReady)
			if c != nil && c.ObservedGeneration == sp.Generation && c.Status == want && strings.Contains(c.Message, msg) {
				return *c
			}
			last = c
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("profile %s: Ready is %+v, want %s with a message containing %q", name, last, want, msg)
	return metav1.Condition{}
}

func TestValidProfileIsReady(t *testing.T) {
	create(t, newProfile("web", "", allow("read", "write", "exit_group")))
	c := ready(t, "web", metav1.ConditionTrue)
	if c.Reason != "Compiled" {
		t.Errorf("reason %q", c.Reason)
	}
	var sp v1alpha1.SeccompProfile
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: "web"}, &sp); err != nil {
		t.Fatal(err)
	}
	if sp.Status.LocalhostProfile != "operator/web.json" {
		t.Errorf("localhostProfile %q, want operator/web.json", sp.Status.LocalhostProfile)
	}
	// The apiserver applied the CRD defaults.
	if sp.Spec.DefaultAction != "SCMP_ACT_ERRNO" || len(sp.Spec.Architectures) != 5 {
		t.Errorf("defaults not applied: %q %v", sp.Spec.DefaultAction, sp.Spec.Architectures)
	}
}

// Errors only inheritance shows (here a base that does not exist) pass
// admission and reach the status, naming what is wrong. Errors in a
// profile's own spec are rejected at admission (webhook_test.go).
func TestInvalidProfileNamesFieldAndValue(t *testing.T) {
	create(t, newProfile("flat-missing", "no-such-base", allow("read")))
	c := readyWith(t, "flat-missing", metav1.ConditionFalse, "no-such-base")
	if c.Reason != "Invalid" {
		t.Errorf("condition %+v, want Invalid naming the missing base", c)
	}
}

func TestAPIServerRejectsErrnoRetOnAllow(t *testing.T) {
	one := uint(1)
	sp := newProfile("bad-errno", "", v1alpha1.SyscallRule{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW", ErrnoRet: &one})
	err := k8s.Create(context.Background(), sp)
	if err == nil {
		k8s.Delete(context.Background(), sp)
		t.Fatal("the apiserver accepted errnoRet on SCMP_ACT_ALLOW")
	}
	if !strings.Contains(err.Error(), "errnoRet") {
		t.Errorf("rejection does not name errnoRet: %v", err)
	}
}

func TestInheritance(t *testing.T) {
	// A child whose base does not exist yet is not ready, and becomes ready
	// when the base is created: a base change re-renders its children.
	create(t, newProfile("child", "base", allow("write")))
	c := ready(t, "child", metav1.ConditionFalse)
	if !strings.Contains(c.Message, `base profile "base"`) {
		t.Errorf("missing base: %q", c.Message)
	}
	create(t, newProfile("base", "", allow("read")))
	ready(t, "child", metav1.ConditionTrue)

	// Breaking the base breaks the child. (An invalid spec is rejected at
	// admission, so the base breaks through its own inheritance.)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var b v1alpha1.SeccompProfile
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: "base"}, &b); err != nil {
			return err
		}
		b.Spec.BaseProfileName = "gone"
		return k8s.Update(context.Background(), &b)
	}); err != nil {
		t.Fatal(err)
	}
	readyWith(t, "child", metav1.ConditionFalse, `"gone"`)
}

func TestInheritanceCycle(t *testing.T) {
	create(t, newProfile("cycle-a", "cycle-b", allow("read")))
	create(t, newProfile("cycle-b", "cycle-a", allow("write")))
	// Created one after the other, so cycle-a first reports its missing
	// base; creating cycle-b re-renders it and the cycle is found.
	readyWith(t, "cycle-a", metav1.ConditionFalse, "inheritance cycle cycle-a → cycle-b → cycle-a")
	readyWith(t, "cycle-b", metav1.ConditionFalse, "inheritance cycle cycle-b → cycle-a → cycle-b")
}

func TestNoStatusWriteWhenNothingChanged(t *testing.T) {
	create(t, newProfile("quiet", "", allow("read")))
	ready(t, "quiet", metav1.ConditionTrue)
	var a, b v1alpha1.SeccompProfile
	k8s.Get(context.Background(), types.NamespacedName{Name: "quiet"}, &a)
	// Touch another profile whose change enqueues nothing for "quiet", and
	// an annotation on "quiet" itself, which does enqueue it.
	a.Annotations = map[string]string{"touched": "yes"}
	if err := k8s.Update(context.Background(), &a); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	k8s.Get(context.Background(), types.NamespacedName{Name: "quiet"}, &b)
	if b.ResourceVersion != a.ResourceVersion {
		t.Errorf("status rewritten with nothing changed: resourceVersion %s → %s", a.ResourceVersion, b.ResourceVersion)
	}
}
