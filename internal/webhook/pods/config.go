package pods

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
// it exists only while the fallback path is Active and a valid SeccompPolicy
// or ProfileBinding exists (a cluster with neither has no webhook in its
// pod path), and is restored when edited or deleted. On the native path it
// is deleted: a configuration left from an earlier run on the fallback path
// would otherwise send every pod to a webhook nobody answers for (the e2e
// suite caught exactly that when switching back).
//
// Its webhooks reach only the namespaces the operator has business in,
// each selected by the apiserver itself from the namespace's labels, as the
// native path's admission policy bindings are:
//   - per policy (CheckPolicy-valid, in precedence order), one for pods
//     (CREATE, and UPDATE of pods/ephemeralcontainers) and one for
//     workloads, with the policy's own namespaceSelector less its exempt
//     namespaces (policy.NamespaceSelector). Its pods webhook fails closed
//     (failurePolicy Fail) only when the policy is in enforce mode, since a
//     policy in enforce mode that fails open is no policy; warn and audit
//     fail open. A selector computed from the policies needs no write to
//     Namespaces (a label the manager maintained would need the verb to
//     relabel any namespace, PodSecurity labels included) and leaves no
//     window in which a new namespace is governed but not yet labelled.
//   - one for the namespaces holding valid ProfileBindings (by the name
//     label the apiserver sets on every namespace), failing open: bindings
//     are not a policy. It comes first, so that the policies' webhooks
//     judge the pod as bound, as the native path does.
//
// Every webhook leaves out kube-system and the operator's namespace, so the
// control plane and the operator itself can always start pods even while
// the webhook is down (and a broken operator can be repaired). DELETE never
// reaches them. Pods webhooks: a 5 s timeout, reinvocation IfNeeded (a later
// webhook's change is judged again). Workloads webhooks (Deployments ...
// CronJobs, CREATE and UPDATE): advice as warnings, failurePolicy Ignore, a
// 3 s timeout: they must never block a rollout. The path of each tells the
// handler its scope (see Handler.Scoped).
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
	if err := r.List(ctx, &policies); err != nil {
		return reconcile.Result{}, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	var bindings v1alpha1.ProfileBindingList
	if err := r.List(ctx, &bindings); err != nil {
		return reconcile.Result{}, fmt.Errorf("list ProfileBindings: %w", err)
	}
	want := r.Webhooks(policies.Items, bindings.Items)
	if !r.Active || len(want) == 0 {
		if err := r.Delete(ctx, cfg); client.IgnoreNotFound(err) != nil {
			return reconcile.Result{}, fmt.Errorf("delete webhook configuration %s: %w", r.Name, err)
		}
		return reconcile.Result{}, nil
	}
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

// Webhooks are the configuration's webhooks as the reconciler writes them
// for the cluster's policies and bindings (none: no configuration).
func (r *ConfigReconciler) Webhooks(policies []v1alpha1.SeccompPolicy, bindings []v1alpha1.ProfileBinding) []admissionregv1.MutatingWebhook {
	exempt := append(slices.Clone(policy.AlwaysExempt), r.OperatorNamespace)
	notExempt := metav1.LabelSelectorRequirement{Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: exempt}
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
	var out []admissionregv1.MutatingWebhook
	// add adds the pods and workloads webhooks of one scope.
	add := func(name string, scope Scope, nsSel *metav1.LabelSelector) {
		nsSel.MatchExpressions = append(nsSel.MatchExpressions, notExempt)
		fail := admissionregv1.Ignore
		if scope.Closed {
			fail = admissionregv1.Fail
		}
		out = append(out, admissionregv1.MutatingWebhook{
			Name:         name + ".pods.seccomp-operator.dev",
			ClientConfig: client(scope.Path(PodsPath)),
			Rules: []admissionregv1.RuleWithOperations{
				rule([]admissionregv1.OperationType{admissionregv1.Create}, "", "pods"),
				rule([]admissionregv1.OperationType{admissionregv1.Update}, "", "pods/ephemeralcontainers"),
			},
			FailurePolicy:           ptr.To(fail),
			MatchPolicy:             ptr.To(admissionregv1.Equivalent),
			NamespaceSelector:       nsSel.DeepCopy(),
			ObjectSelector:          &metav1.LabelSelector{},
			SideEffects:             ptr.To(admissionregv1.SideEffectClassNone),
			TimeoutSeconds:          ptr.To[int32](5),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr.To(admissionregv1.IfNeededReinvocationPolicy),
		}, admissionregv1.MutatingWebhook{
			Name:         name + ".workloads.seccomp-operator.dev",
			ClientConfig: client(scope.Path(WorkloadsPath)),
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
		})
	}
	var bound []string
	for i := range bindings {
		if b := &bindings[i]; b.DeletionTimestamp.IsZero() && policy.CheckBinding(b) == nil {
			bound = append(bound, b.Namespace)
		}
	}
	if bound = slices.Compact(slices.Sorted(slices.Values(bound))); len(bound) > 0 {
		add("bindings", Scope{Bindings: true}, &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
			Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpIn, Values: bound}}})
	}
	var valid []*v1alpha1.SeccompPolicy
	for i := range policies {
		if p := &policies[i]; p.DeletionTimestamp.IsZero() && policy.CheckPolicy(p) == nil {
			valid = append(valid, p)
		}
	}
	slices.SortFunc(valid, func(a, b *v1alpha1.SeccompPolicy) int {
		if policy.Precedes(a, b) {
			return -1
		}
		return 1
	})
	for _, p := range valid {
		mode := p.Spec.Mode
		closed := mode == "" || mode == v1alpha1.PolicyModeEnforce
		add(webhookLabel(p.Name), Scope{Policy: p.Name, Closed: closed}, policy.NamespaceSelector(p, r.OperatorNamespace))
	}
	return out
}

// webhookLabel is the first part of the names of a policy's webhooks
// ("<label>.pods.seccomp-operator.dev"): the policy's name with a suffix
// that keeps it apart from the bindings' webhooks, or, when the whole
// name would be longer than a webhook's name may be, a hash of it.
func webhookLabel(policyName string) string {
	const suffix = ".policy"
	if l := policyName + suffix; len(l)+len(".workloads.seccomp-operator.dev") <= 253 {
		return l
	}
	sum := sha256.Sum256([]byte(policyName))
	return "h" + hex.EncodeToString(sum[:12]) + suffix
}
