//go:build integration

package integration

import (
	"context"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// names the CRD fields that name a SeccompProfile are tried with: the
// apiserver must admit exactly those nodepath admits.
var trialNames = []string{
	"web", "team-a", "a.b", "0", "a.b-c.d", strings.Repeat("a", 253),
	"team..a", "a..b", ".a", "a.", "-a", "a-", "A", "a_b", "a/b", "a.-b", strings.Repeat("a", 254),
}

// The CRDs refuse every name (and name prefix before '*') that
// nodepath refuses, and admit every one it admits: one rule, apimachinery's,
// called by the schema's CEL and by nodepath.
func TestCRDNamesFollowNodepath(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "crd-names", nil)
	try := func(obj client.Object) error {
		return k8s.Create(ctx, obj, client.DryRunAll)
	}
	for _, name := range trialNames {
		want := nodepath.ValidateName(name) == nil
		objs := map[string]client.Object{
			"allowedProfiles": &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "names"},
				Spec: v1alpha1.SeccompPolicySpec{AllowedProfiles: []v1alpha1.AllowedProfile{v1alpha1.AllowedProfile(name)}}},
			"defaultProfile.profileName": &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "names"},
				Spec: v1alpha1.SeccompPolicySpec{DefaultProfile: &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: name}}},
			"ProfileBinding profileName": &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "crd-names", Name: "names"},
				Spec: v1alpha1.ProfileBindingSpec{ProfileName: name, ContainerNames: []string{"app"}}},
		}
		for field, obj := range objs {
			err := try(obj)
			if got := err == nil; got != want {
				t.Errorf("%s %q: apiserver admits %v (%v), nodepath %v", field, name, got, err, want)
			}
			if err != nil && !strings.Contains(err.Error(), "must be") && !strings.Contains(err.Error(), "Too long") {
				t.Errorf("%s %q: the refusal does not say what to write: %v", field, name, err)
			}
		}
		if len(name) >= 253 {
			continue // name+"*" is longer than the field allows
		}
		pattern := &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "names"},
			Spec: v1alpha1.SeccompPolicySpec{AllowedProfiles: []v1alpha1.AllowedProfile{v1alpha1.AllowedProfile(name + "*")}}}
		if err, want := try(pattern), nodepath.ValidatePrefix(name) == nil; (err == nil) != want {
			t.Errorf("allowedProfiles %q: apiserver admits %v (%v), nodepath %v", name+"*", err == nil, err, want)
		}
	}
}

// relaxNameRules removes the name rules from the CRD of resource (plural),
// as an older schema lacked them, and returns what restores it (also done
// when the test ends). Objects written meanwhile stay stored, as objects
// written under an older CRD do.
func relaxNameRules(t *testing.T, plural string) (restore func()) {
	t.Helper()
	ctx := context.Background()
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	key := client.ObjectKey{Name: plural + "." + v1alpha1.GroupVersion.Group}
	if err := k8s.Get(ctx, key, crd); err != nil {
		t.Fatal(err)
	}
	orig := crd.DeepCopy()
	var strip func(v any) int
	strip = func(v any) int {
		n := 0
		switch v := v.(type) {
		case map[string]any:
			if rules, ok := v["x-kubernetes-validations"].([]any); ok {
				kept := rules[:0]
				for _, r := range rules {
					if rule, _ := r.(map[string]any)["rule"].(string); strings.Contains(rule, "format.dns1123Subdomain") {
						n++
						continue
					}
					kept = append(kept, r)
				}
				if len(kept) == 0 {
					delete(v, "x-kubernetes-validations")
				} else {
					v["x-kubernetes-validations"] = kept
				}
			}
			for _, c := range v {
				n += strip(c)
			}
		case []any:
			for _, c := range v {
				n += strip(c)
			}
		}
		return n
	}
	if strip(crd.Object["spec"]) == 0 {
		t.Fatalf("CRD %s has no name rule to relax", key.Name)
	}
	if err := k8s.Update(ctx, crd); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	restore = func() {
		once.Do(func() {
			cur := &unstructured.Unstructured{}
			cur.SetGroupVersionKind(crd.GroupVersionKind())
			if err := k8s.Get(ctx, key, cur); err != nil {
				t.Errorf("restore CRD %s: %v", key.Name, err)
				return
			}
			cur.Object["spec"] = orig.Object["spec"]
			if err := k8s.Update(ctx, cur); err != nil {
				t.Errorf("restore CRD %s: %v", key.Name, err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}

// A policy and a binding stored with names the schema now refuses (written
// before it tightened) each get a status condition saying what is wrong,
// and take no part in admission: the namespace's other policy governs its
// pods, and the pods are admitted. (They made policy.Compile panic, which
// left them without status and, since they still took precedence, the
// namespace without its policy; the fallback webhook answered 500.)
func TestStoredBadNamesGetStatusAndBlockNothing(t *testing.T) {
	ctx := context.Background()
	restorePolicies := relaxNameRules(t, "seccomppolicies")
	restoreBindings := relaxNameRules(t, "profilebindings")
	policyNamespace(t, "bad-names", map[string]string{"bad-names": "yes"})
	sel := metav1.LabelSelector{MatchLabels: map[string]string{"bad-names": "yes"}}
	bad := &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-names-typo"}, Spec: v1alpha1.SeccompPolicySpec{
		NamespaceSelector: sel, Priority: 100, Mode: v1alpha1.PolicyModeEnforce,
		AllowedProfiles: []v1alpha1.AllowedProfile{"RuntimeDefault", "team..a"}}}
	binding := &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "bad-names", Name: "typo"}, Spec: v1alpha1.ProfileBindingSpec{
		ProfileName: "a..b", ContainerNames: []string{"app"}}}
	for _, obj := range []client.Object{bad, binding} {
		eventually(t, "the relaxed CRD admitting "+obj.GetName(), func() bool { return k8s.Create(ctx, obj) == nil })
		t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(ctx, obj)) })
	}
	// The schema tightens again; the stored objects stay.
	restorePolicies()
	restoreBindings()
	eventually(t, "the restored CRD refusing the name again", func() bool {
		again := bad.DeepCopy()
		again.ResourceVersion, again.Name = "", "bad-names-again"
		return k8s.Create(ctx, again, client.DryRunAll) != nil
	})
	createPolicy(t, &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad-names-good"}, Spec: v1alpha1.SeccompPolicySpec{
		NamespaceSelector: sel, DefaultProfile: &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}}})

	condition := func(obj client.Object, conds func() []metav1.Condition, typ string) *metav1.Condition {
		if k8s.Get(ctx, client.ObjectKeyFromObject(obj), obj) != nil {
			return nil
		}
		return meta.FindStatusCondition(conds(), typ)
	}
	eventually(t, "the bad policy's status", func() bool {
		c := condition(bad, func() []metav1.Condition { return bad.Status.Conditions }, v1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonInvalidSpec &&
			strings.Contains(c.Message, `spec.allowedProfiles[1]: profile name "team..a"`)
	})
	eventually(t, "the bad binding's status", func() bool {
		c := condition(binding, func() []metav1.Condition { return binding.Status.Conditions }, v1alpha1.ConditionReady)
		i := meta.FindStatusCondition(binding.Status.Conditions, v1alpha1.ConditionProfileInstalled)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonInvalidSpec &&
			strings.Contains(c.Message, `spec.profileName: profile name "a..b"`) && i != nil && i.Reason == controller.ReasonInvalidSpec
	})
	admittedWithin(t, "the good policy's default, the bad one skipped", policycases.RestrictedPod("bad-names", "p"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault" &&
			(out.Spec.Containers[0].SecurityContext == nil || out.Spec.Containers[0].SecurityContext.SeccompProfile == nil)
	})
}

// profilePath is nodepath.ProfilePath of the tests' own, valid, names.
func profilePath(name string) string {
	rel, err := nodepath.ProfilePath(name)
	if err != nil {
		panic(err)
	}
	return rel
}

// An exempt namespace must be a namespace name: the exemptions become
// values of the selectors the admission objects are bound with.
func TestCRDExemptNamespacesAreNamespaceNames(t *testing.T) {
	for name, ok := range map[string]bool{"ci": true, "kube-public": true, "Not a namespace!": false, "a.b": false, strings.Repeat("a", 64): false} {
		p := &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "exempt"}, Spec: v1alpha1.SeccompPolicySpec{
			AllowedProfiles: []v1alpha1.AllowedProfile{"RuntimeDefault"}, Exemptions: v1alpha1.PolicyExemptions{Namespaces: []string{name}}}}
		if err := k8s.Create(context.Background(), p, client.DryRunAll); (err == nil) != ok {
			t.Errorf("exempt namespace %q: admitted %v (%v), want %v", name, err == nil, err, ok)
		}
	}
}
