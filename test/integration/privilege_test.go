//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
)

// The names the manager's RBAC and admission policy allow (config/rbac).
const (
	ownSecret        = "seccomp-operator-webhook-tls"
	ownValidatingCfg = "seccomp-operator-validating-webhook"
	managerPolicyMsg = "the seccomp-operator manager may create only its own objects"
	staticPolicyMsg  = "the seccomp-operator manager may write only the admission policies it generates"
)

// TestManagerLeastPrivilege: with the RBAC and the admission policy of
// config/rbac (installed by TestMain, which runs the manager with them),
// the manager's service account reaches its own webhook configurations
// and Secret and nobody else's. An authorized request on a missing object
// answers NotFound, an unauthorized one Forbidden: that tells the two apart
// without creating objects the running manager would act on.
func TestManagerLeastPrivilege(t *testing.T) {
	ctx := context.Background()
	mc, err := client.New(impersonate(cfg, managerUser), client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	allowed := func(what string, err error) {
		t.Helper()
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v, want allowed", what, err)
		}
	}
	forbidden := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) {
			t.Errorf("%s: %v, want Forbidden", what, err)
		}
	}
	deniedByPolicy := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), managerPolicyMsg) {
			t.Errorf("%s: %v, want a denial by seccomp-operator-manager-own-objects", what, err)
		}
	}
	mwc := func(name string) *admissionv1.MutatingWebhookConfiguration {
		return &admissionv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	secret := func(name string, typ corev1.SecretType) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: name}, Type: typ,
			Data: map[string][]byte{"tls.crt": nil, "tls.key": nil}}
	}

	// Another component's objects, made by the admin.
	foreignMWC := mwc("someone-elses-webhook")
	foreignSecret := secret("someone-elses-secret", corev1.SecretTypeOpaque)
	for _, o := range []client.Object{foreignMWC, foreignSecret} {
		if err := k8s.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), o) })
	}

	// The admission policy takes effect asynchronously: probe until the
	// manager's creation of a foreign configuration is refused (removing
	// what got through meanwhile).
	eventuallyWithin(t, 30*time.Second, "the manager's admission policy denies", func() bool {
		err := mc.Create(ctx, mwc("probe-webhook"))
		if err == nil {
			if err := k8s.Delete(ctx, mwc("probe-webhook")); err != nil {
				t.Fatal(err)
			}
			return false
		}
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), managerPolicyMsg)
	})

	// Its own MutatingWebhookConfiguration: every verb the reconciler uses,
	// list and watch only by name (what setup.CacheOptions asks for).
	ownMWC := pods.DefaultConfigName
	allowed("create own MutatingWebhookConfiguration (dry run)", mc.Create(ctx, mwc(ownMWC), client.DryRunAll))
	allowed("get own MutatingWebhookConfiguration", mc.Get(ctx, client.ObjectKey{Name: ownMWC}, mwc("")))
	allowed("patch own MutatingWebhookConfiguration", mc.Patch(ctx, mwc(ownMWC), client.RawPatch("application/merge-patch+json", []byte(`{}`))))
	allowed("delete own MutatingWebhookConfiguration", mc.Delete(ctx, mwc(ownMWC), client.DryRunAll))
	var mwcs admissionv1.MutatingWebhookConfigurationList
	allowed("list own MutatingWebhookConfiguration by name", mc.List(ctx, &mwcs, client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("metadata.name", ownMWC)}))
	allowed("get own ValidatingWebhookConfiguration", mc.Get(ctx, client.ObjectKey{Name: ownValidatingCfg}, &admissionv1.ValidatingWebhookConfiguration{}))

	// Nobody else's.
	deniedByPolicy("create a foreign MutatingWebhookConfiguration", mc.Create(ctx, mwc("evil-webhook"), client.DryRunAll))
	forbidden("create a ValidatingWebhookConfiguration", mc.Create(ctx, &admissionv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: ownValidatingCfg}}, client.DryRunAll))
	forbidden("get a foreign MutatingWebhookConfiguration", mc.Get(ctx, client.ObjectKeyFromObject(foreignMWC), mwc("")))
	forbidden("patch a foreign MutatingWebhookConfiguration", mc.Patch(ctx, mwc(foreignMWC.Name), client.RawPatch("application/merge-patch+json", []byte(`{}`))))
	forbidden("delete a foreign MutatingWebhookConfiguration", mc.Delete(ctx, mwc(foreignMWC.Name)))
	forbidden("list every MutatingWebhookConfiguration", mc.List(ctx, &mwcs))

	// Admission policies: RBAC lets the manager write every one (their
	// names come from users' objects); the static policy of
	// config/static-admission, which TestMain loads, keeps it to the names
	// it generates. Its own writes on the native path are the other tests.
	own, foreign := vap(policy.ValidatingName("least-privilege")), vap("someone-elses-policy")
	if err := k8s.Create(ctx, foreign); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), vap(foreign.Name)) })
	allowed("create a ValidatingAdmissionPolicy of its own name (dry run)", mc.Create(ctx, own, client.DryRunAll))
	deniedByStatic := func(what string, err error) {
		t.Helper()
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), staticPolicyMsg) {
			t.Errorf("%s: %v, want a denial by the static policy", what, err)
		}
	}
	deniedByStatic("create a foreign ValidatingAdmissionPolicy", mc.Create(ctx, vap("evil-policy"), client.DryRunAll))
	foreign.Spec.FailurePolicy = ptr.To(admissionv1.Ignore)
	deniedByStatic("update a foreign ValidatingAdmissionPolicy", mc.Update(ctx, foreign, client.DryRunAll))
	deniedByStatic("delete a foreign ValidatingAdmissionPolicy", mc.Delete(ctx, vap(foreign.Name), client.DryRunAll))
	deniedByStatic("create a foreign MutatingAdmissionPolicyBinding", mc.Create(ctx, &admissionv1.MutatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "evil-binding"}, Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: "evil"}}, client.DryRunAll))

	// Its own Secret: create (of type TLS), read, update; nothing else.
	s := secret(ownSecret, corev1.SecretTypeTLS)
	allowed("create own Secret", mc.Create(ctx, s))
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), secret(ownSecret, "")) })
	allowed("get own Secret", mc.Get(ctx, client.ObjectKeyFromObject(s), s))
	s.Annotations = map[string]string{"test": "updated"}
	allowed("update own Secret", mc.Update(ctx, s))
	forbidden("delete own Secret", mc.Delete(ctx, s))
	deniedByPolicy("create another Secret", mc.Create(ctx, secret("another-secret", corev1.SecretTypeTLS), client.DryRunAll))
	forbidden("get a foreign Secret", mc.Get(ctx, client.ObjectKeyFromObject(foreignSecret), &corev1.Secret{}))
	forbidden("update a foreign Secret", mc.Update(ctx, foreignSecret.DeepCopy()))
	forbidden("list Secrets", mc.List(ctx, &corev1.SecretList{}, client.InNamespace(operatorNamespace)))
	forbidden("get a Secret of kube-system", mc.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: ownSecret}, &corev1.Secret{}))
}

// vap is a minimal valid ValidatingAdmissionPolicy (admission runs after
// validation, so a probe must be valid).
func vap(name string) *admissionv1.ValidatingAdmissionPolicy {
	return &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{{
				RuleWithOperations: admissionv1.RuleWithOperations{Operations: []admissionv1.OperationType{admissionv1.Create},
					Rule: admissionv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"configmaps"}}}}}},
			Validations: []admissionv1.Validation{{Expression: "true"}},
		},
	}
}

// TestAgentPodAccess: with config/agent's RBAC the agent's service account
// lists and watches pods (it asks only for its node's, by field selector)
// and cannot get one by name, which it never does. It can list every
// pod too: RBAC ignores field selectors; docs/security.md says so and what
// an administrator can do, and this test notices if that ever changes.
func TestAgentPodAccess(t *testing.T) {
	ctx := context.Background()
	objs := kustRender(t, "agent")
	kustCreate(t, kustFind(t, objs, "ClusterRole", kustAgent))
	kustCreate(t, kustFind(t, objs, "ClusterRoleBinding", kustAgent))
	ac, err := client.New(impersonate(cfg, kustAgentUser), client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	onNode := client.MatchingFieldsSelector{Selector: fields.OneTermEqualSelector("spec.nodeName", "agent-access-node")}
	var list corev1.PodList
	// RBAC of a freshly bound role takes a moment to reach the authorizer.
	eventuallyWithin(t, 30*time.Second, "the agent's role is in effect", func() bool {
		return ac.List(ctx, &list, onNode) == nil
	})
	if err := ac.Get(ctx, client.ObjectKey{Namespace: "kube-system", Name: "any-pod"}, &corev1.Pod{}); !apierrors.IsForbidden(err) {
		t.Errorf("agent gets a pod by name: %v, want Forbidden", err)
	}
	if err := ac.List(ctx, &list); err != nil {
		t.Errorf("the agent cannot list every pod any more (%v): docs/security.md says it can; update it", err)
	}
	for _, verb := range []func() error{
		func() error {
			return ac.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "x"}})
		},
		func() error { return ac.List(ctx, &corev1.SecretList{}) },
		func() error { return ac.List(ctx, &corev1.ConfigMapList{}) },
	} {
		if err := verb(); !apierrors.IsForbidden(err) {
			t.Errorf("agent: %v, want Forbidden", err)
		}
	}
}
