package pods

import (
	"bytes"
	"context"
	"fmt"
	"slices"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// DefaultConfigName is the MutatingWebhookConfiguration of the fallback
// path.
const DefaultConfigName = "seccomp-operator-pods"

// Only its own configuration, by name (the cache watches it with a field
// selector on metadata.name: setup.CacheOptions); create cannot be
// restricted by name in RBAC, config/rbac/manager_admission_policy.yaml does.
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,verbs=create
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,resourceNames=seccomp-operator-pods,verbs=get;list;watch;update;patch;delete
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch

// ConfigReconciler keeps the fallback path's MutatingWebhookConfiguration:
// it exists only while the fallback path is Active and a SeccompPolicy or
// ProfileBinding exists (a cluster with neither has no webhook in its pod
// path), and is restored when edited or deleted. On the native path it is
// deleted: a configuration left from an earlier run on the fallback path
// would otherwise send every pod to a webhook nobody answers for (the e2e
// suite caught exactly that when switching back).
//
// Its two webhooks, and why:
//   - pods (CREATE, and UPDATE of pods/ephemeralcontainers): failurePolicy
//     Fail, since a policy in enforce mode that fails open is no policy; a
//     5 s timeout; kube-system and the operator's namespace are left out by
//     namespaceSelector, so the control plane and the operator itself can
//     always start pods even while the webhook is down (and a broken
//     operator can be repaired). DELETE never reaches it. Reinvocation
//     IfNeeded: when a later webhook changes the pod, it is judged again.
//   - workloads (Deployments ... CronJobs, CREATE and UPDATE): advice as
//     warnings, failurePolicy Ignore and a 3 s timeout: it must never block
//     a rollout.
type ConfigReconciler struct {
	client.Client
	// Active: the fallback path is in use.
	Active            bool
	Name              string
	OperatorNamespace string
	// Service reaches the manager's webhook server inside the cluster;
	// URL (a base such as https://localhost:9443) replaces it when the
	// manager runs outside (tests).
	Service *admissionregv1.ServiceReference
	URL     string
	// Bundle is the CA bundle the apiserver must trust.
	Bundle func() []byte
}

var configKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: "fallback-webhook"}}

// SetupWithManager registers the reconciler.
func (r *ConfigReconciler) SetupWithManager(mgr ctrl.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{configKey}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("fallbackwebhook").
		Watches(&v1alpha1.SeccompPolicy{}, one).
		Watches(&v1alpha1.ProfileBinding{}, one).
		Watches(&admissionregv1.MutatingWebhookConfiguration{}, one,
			builder.WithPredicates(predicate.NewPredicateFuncs(func(o client.Object) bool { return o.GetName() == r.Name }))).
		Complete(r)
}

// Reconcile creates, repairs or deletes the configuration.
func (r *ConfigReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	cfg := &admissionregv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: r.Name}}
	var policies v1alpha1.SeccompPolicyList
	if err := r.List(ctx, &policies, client.Limit(1)); err != nil {
		return reconcile.Result{}, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	var bindings v1alpha1.ProfileBindingList
	if err := r.List(ctx, &bindings, client.Limit(1)); err != nil {
		return reconcile.Result{}, fmt.Errorf("list ProfileBindings: %w", err)
	}
	if !r.Active || len(policies.Items) == 0 && len(bindings.Items) == 0 {
		if err := r.Delete(ctx, cfg); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, fmt.Errorf("delete webhook configuration %s: %w", r.Name, err)
		}
		return reconcile.Result{}, nil
	}
	want := r.Webhooks()
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, cfg, func() error {
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		cfg.Labels["app.kubernetes.io/managed-by"] = "seccomp-operator"
		// Keep the apiserver's defaults (matchPolicy ...) and a newer CA
		// bundle the injector may have written: compare what we set.
		if len(cfg.Webhooks) != len(want) {
			cfg.Webhooks = want
			return nil
		}
		for i := range want {
			got := &cfg.Webhooks[i]
			if bytes.Equal(want[i].ClientConfig.CABundle, nil) {
				want[i].ClientConfig.CABundle = got.ClientConfig.CABundle
			}
			if !sameWebhook(got, &want[i]) {
				cfg.Webhooks[i] = want[i]
			}
		}
		return nil
	}); err != nil {
		return reconcile.Result{}, fmt.Errorf("apply webhook configuration %s: %w", r.Name, err)
	}
	return reconcile.Result{}, nil
}

func sameWebhook(a, b *admissionregv1.MutatingWebhook) bool {
	return a.Name == b.Name && equality.Semantic.DeepEqual(a.ClientConfig, b.ClientConfig) &&
		equality.Semantic.DeepEqual(a.Rules, b.Rules) && equality.Semantic.DeepEqual(a.NamespaceSelector, b.NamespaceSelector) &&
		equality.Semantic.DeepEqual(a.FailurePolicy, b.FailurePolicy) && equality.Semantic.DeepEqual(a.TimeoutSeconds, b.TimeoutSeconds) &&
		equality.Semantic.DeepEqual(a.ReinvocationPolicy, b.ReinvocationPolicy) && equality.Semantic.DeepEqual(a.SideEffects, b.SideEffects)
}

// Webhooks are the configuration's webhooks as the reconciler writes them.
func (r *ConfigReconciler) Webhooks() []admissionregv1.MutatingWebhook {
	exempt := append(slices.Clone(policy.AlwaysExempt), r.OperatorNamespace)
	nsSel := &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: exempt}}}
	var bundle []byte
	if r.Bundle != nil {
		bundle = r.Bundle()
	}
	client := func(path string) admissionregv1.WebhookClientConfig {
		c := admissionregv1.WebhookClientConfig{CABundle: bundle}
		if r.URL != "" {
			c.URL = ptr.To(r.URL + path)
		} else if r.Service != nil {
			s := *r.Service
			s.Path = ptr.To(path)
			c.Service = &s
		}
		return c
	}
	rule := func(ops []admissionregv1.OperationType, group string, resources ...string) admissionregv1.RuleWithOperations {
		return admissionregv1.RuleWithOperations{Operations: ops, Rule: admissionregv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources, Scope: ptr.To(admissionregv1.NamespacedScope)}}
	}
	cu := []admissionregv1.OperationType{admissionregv1.Create, admissionregv1.Update}
	return []admissionregv1.MutatingWebhook{
		{
			Name:         "pods.seccomp-operator.dev",
			ClientConfig: client(PodsPath),
			Rules: []admissionregv1.RuleWithOperations{
				rule([]admissionregv1.OperationType{admissionregv1.Create}, "", "pods"),
				rule([]admissionregv1.OperationType{admissionregv1.Update}, "", "pods/ephemeralcontainers"),
			},
			FailurePolicy:           ptr.To(admissionregv1.Fail),
			MatchPolicy:             ptr.To(admissionregv1.Equivalent),
			NamespaceSelector:       nsSel.DeepCopy(),
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionregv1.IfNeededReinvocationPolicy),
		},
		{
			Name:         "workloads.seccomp-operator.dev",
			ClientConfig: client(WorkloadsPath),
			Rules: []admissionregv1.RuleWithOperations{
				rule(cu, "apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
				rule(cu, "batch", "jobs", "cronjobs"),
			},
			FailurePolicy:           ptr.To(admissionregv1.Ignore),
			MatchPolicy:             ptr.To(admissionregv1.Equivalent),
			NamespaceSelector:       nsSel.DeepCopy(),
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To[int32](3),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionregv1.NeverReinvocationPolicy),
		},
	}
}
