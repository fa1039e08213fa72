//go:build integration

package integration

import (
	"context"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

func TestPredefinedProfilesCreatedAndReady(t *testing.T) {
	for _, name := range predefined.Names() {
		c := ready(t, name, metav1.ConditionTrue)
		if c.Reason != "Compiled" {
			t.Errorf("%s: %+v", name, c)
		}
		var sp v1alpha1.SeccompProfile
		if err := k8s.Get(context.Background(), types.NamespacedName{Name: name}, &sp); err != nil {
			t.Fatal(err)
		}
		if sp.Labels[controller.PredefinedLabel] != "true" {
			t.Errorf("%s: labels %v", name, sp.Labels)
		}
	}
}

func TestPredefinedProfileRestored(t *testing.T) {
	ctx := context.Background()
	key := types.NamespacedName{Name: "webapp"}
	var sp v1alpha1.SeccompProfile
	eventually(t, "webapp to exist", func() bool { return k8s.Get(ctx, key, &sp) == nil })
	want := sp.Spec.DeepCopy()

	// Edited by hand: the manager puts the original spec back. (The
	// manager may be writing the status meanwhile, hence the retry.)
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, key, &sp); err != nil {
			return err
		}
		sp.Spec.DefaultAction = "SCMP_ACT_ALLOW"
		return k8s.Update(ctx, &sp)
	}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "webapp's spec to be restored", func() bool {
		var got v1alpha1.SeccompProfile
		return k8s.Get(ctx, key, &got) == nil && got.Spec.DefaultAction == want.DefaultAction && len(got.Spec.Syscalls) == len(want.Syscalls)
	})

	// Deleted: the manager creates it again.
	uid := sp.UID
	if err := k8s.Delete(ctx, &sp); err != nil {
		t.Fatal(err)
	}
	eventually(t, "webapp to be recreated", func() bool {
		var got v1alpha1.SeccompProfile
		return k8s.Get(ctx, key, &got) == nil && got.UID != uid
	})
	ready(t, "webapp", metav1.ConditionTrue)
}
