//go:build integration

package integration

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// A namespace's bindings become one mutating and one validating admission
// policy (with bindings), restored when deleted or edited, and deleted by
// the manager itself when the last binding goes (cluster-scoped objects
// cannot be owned by a namespaced binding, so the garbage collector would
// not). The status follows the profile: missing, then installed.
func TestProfileBindingObjectsLifecycle(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "bind-life", nil)
	name := policy.BindingsName("bind-life")
	b := &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "bind-life"},
		Spec: v1alpha1.ProfileBindingSpec{ProfileName: "bind-life-web", Images: []string{"*nginx*"}}}
	createBinding(t, b)
	status := func() *metav1.Condition {
		var cur v1alpha1.ProfileBinding
		if k8s.Get(ctx, client.ObjectKeyFromObject(b), &cur) != nil {
			return nil
		}
		return meta.FindStatusCondition(cur.Status.Conditions, v1alpha1.ConditionProfileInstalled)
	}
	eventually(t, "ProfileInstalled=False ProfileMissing", func() bool {
		c := status()
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == "ProfileMissing"
	})
	tname := policy.BindingsTemplatesName("bind-life")
	objs := func() map[client.Object]string {
		return map[client.Object]string{&admissionv1.MutatingAdmissionPolicy{}: name, &admissionv1.MutatingAdmissionPolicyBinding{}: name,
			&admissionv1.ValidatingAdmissionPolicy{}: name, &admissionv1.ValidatingAdmissionPolicyBinding{}: name,
			&admissionv1.ValidatingAdmissionPolicy{}: tname, &admissionv1.ValidatingAdmissionPolicyBinding{}: tname}
	}
	all := func(present bool) func() bool {
		return func() bool {
			for o, n := range objs() {
				err := k8s.Get(ctx, client.ObjectKey{Name: n}, o)
				if present && err != nil || !present && !apierrors.IsNotFound(err) {
					return false
				}
			}
			return true
		}
	}
	eventually(t, "the six admission objects of the namespace's bindings (pods and templates)", all(true))

	// Deleted → restored; edited → restored.
	if err := k8s.Delete(ctx, &admissionv1.MutatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the mutating policy restored", all(true))
	var vap admissionv1.ValidatingAdmissionPolicy
	if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &vap); err != nil {
		t.Fatal(err)
	}
	want := vap.Spec.Validations[0].Expression
	vap.Spec.Validations[0].Expression = "true"
	if err := k8s.Update(ctx, &vap); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the validating policy's edit undone", func() bool {
		var cur admissionv1.ValidatingAdmissionPolicy
		return k8s.Get(ctx, client.ObjectKey{Name: name}, &cur) == nil && cur.Spec.Validations[0].Expression == want
	})

	// The profile appears: the status follows.
	prof := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "bind-life-web"},
		Spec: v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"}}}
	if err := k8s.Create(ctx, prof); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), prof) })
	eventually(t, "ProfileInstalled=True", func() bool {
		c := status()
		return c != nil && c.Status == metav1.ConditionTrue
	})

	// The last binding goes: so do the objects.
	if err := k8s.Delete(ctx, b); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the admission objects deleted with the last binding", all(false))
}
