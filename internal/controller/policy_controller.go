package controller

import (
	"context"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// ReasonCompiledToNative: the policy's admission policies are in place.
const (
	ReasonCompiledToNative = "AdmissionPoliciesApplied"
	ReasonNotCompiled      = "CompileFailed"
	// ReasonInvalidSpec: the spec names what no admission policy can be
	// compiled from (policy.CheckPolicy, policy.CheckBinding); the object
	// takes no part in admission until it is fixed.
	ReasonInvalidSpec     = "InvalidSpec"
	ReasonFallbackWebhook = "FallbackWebhook"
)

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccomppolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccomppolicies/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingadmissionpolicies;mutatingadmissionpolicybindings;validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch;create;update;patch;delete

// PolicyReconciler keeps each SeccompPolicy's in-apiserver admission
// policies (internal/policy) equal to what it compiles to: it creates them,
// restores them when edited or deleted, deletes the ones the policy no
// longer needs, and owns them so that deleting the policy deletes them.
// Precedence makes a policy's objects depend on every other policy, so any
// policy change re-reconciles all of them.
type PolicyReconciler struct {
	client.Client
	// OperatorNamespace is always exempt from every policy.
	OperatorNamespace string
	// Webhook: the fallback webhook enforces the policies, not the
	// apiserver's own admission policies. NativeAPI: the apiserver serves
	// those (then, on the webhook path, the reconciler removes any left
	// from the native path, so the two never both act).
	Webhook, NativeAPI bool
}

// SetupWithManager registers the reconciler.
func (r *PolicyReconciler) SetupWithManager(mgr ctrl.Manager) error {
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list v1alpha1.SeccompPolicyList
		if err := r.List(ctx, &list); err != nil {
			return nil
		}
		reqs := make([]reconcile.Request, len(list.Items))
		for i := range list.Items {
			reqs[i].Name = list.Items[i].Name
		}
		return reqs
	})
	b := ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SeccompPolicy{}).
		// Precedence: any policy's change may change every other's objects.
		Watches(&v1alpha1.SeccompPolicy{}, all).
		// The template checks apply the ProfileBindings of every namespace.
		Watches(&v1alpha1.ProfileBinding{}, all).
		// The installed checks carry the index (policy.Compile).
		Watches(&v1alpha1.SeccompProfileIndex{}, all)
	if r.NativeAPI {
		b = b.Owns(&admissionv1.MutatingAdmissionPolicy{}).
			Owns(&admissionv1.MutatingAdmissionPolicyBinding{}).
			Owns(&admissionv1.ValidatingAdmissionPolicy{}).
			Owns(&admissionv1.ValidatingAdmissionPolicyBinding{})
	}
	return b.Complete(r)
}

// Reconcile applies one policy's admission objects.
func (r *PolicyReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var p v1alpha1.SeccompPolicy
	if err := r.Get(ctx, req.NamespacedName, &p); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err) // its objects go with it (owner references)
	}
	if !p.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	var list v1alpha1.SeccompPolicyList
	if err := r.List(ctx, &list); err != nil {
		return reconcile.Result{}, fmt.Errorf("list policies: %w", err)
	}
	var bindings v1alpha1.ProfileBindingList
	if err := r.List(ctx, &bindings); err != nil {
		return reconcile.Result{}, fmt.Errorf("list ProfileBindings: %w", err)
	}
	live := slices.DeleteFunc(bindings.Items, func(b v1alpha1.ProfileBinding) bool { return !b.DeletionTimestamp.IsZero() })
	index, err := publishedIndex(ctx, r)
	if err != nil {
		return reconcile.Result{}, err
	}
	status := p.Status.DeepCopy()
	status.ObservedGeneration = p.Generation
	objs, err := policy.Compile(&p, list.Items, r.OperatorNamespace, live, index)
	if err != nil {
		// Skipped, as Evaluate skips it: its admission objects go (a
		// retry would fail the same way; the next edit reconciles it).
		reason := ReasonNotCompiled
		if policy.CheckPolicy(&p) != nil {
			reason = ReasonInvalidSpec
		}
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: reason, ObservedGeneration: p.Generation,
			Message: err.Error() + "; the policy governs no namespace until it is fixed"})
		status.AdmissionPolicies = nil
		if r.NativeAPI {
			if _, err := r.apply(ctx, &p, policy.Objects{}); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{}, r.writeStatus(ctx, &p, status)
	}
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonCompiledToNative,
		ObservedGeneration: p.Generation, Message: "enforced by the apiserver through its admission policies"}
	if objs.Note != "" {
		ready.Message += "; " + objs.Note
	}
	if r.Webhook {
		objs = policy.Objects{} // none: removes what the native path left
		ready.Reason, ready.Message = ReasonFallbackWebhook, "enforced by the manager's fallback admission webhook"
	}
	var names []string
	if r.NativeAPI {
		if names, err = r.apply(ctx, &p, objs); err != nil {
			return reconcile.Result{}, err
		}
	}
	status.AdmissionPolicies = names
	meta.SetStatusCondition(&status.Conditions, ready)
	return reconcile.Result{}, r.writeStatus(ctx, &p, status)
}

func (r *PolicyReconciler) writeStatus(ctx context.Context, p *v1alpha1.SeccompPolicy, status *v1alpha1.SeccompPolicyStatus) error {
	if equality.Semantic.DeepEqual(status, &p.Status) {
		return nil
	}
	patch := client.MergeFrom(p.DeepCopy())
	p.Status = *status
	if err := r.Status().Patch(ctx, p, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch status of policy %s: %w", p.Name, err)
	}
	return nil
}

// owned is one admission object a policy compiles to.
type owned struct {
	obj      client.Object // an empty object of its kind
	name     string
	compiled client.Object // nil when the policy needs none
	spec     func()        // copies compiled's spec into obj
	isPolicy bool          // a policy, not a binding: named in the status
}

// apply makes each needed object exist with the compiled spec and removes
// the ones the policy does not need; it returns the kept policies' names.
func (r *PolicyReconciler) apply(ctx context.Context, p *v1alpha1.SeccompPolicy, o policy.Objects) ([]string, error) {
	mutating, validating := policy.MutatingName(p.Name), policy.ValidatingName(p.Name)
	installed, templates := policy.InstalledName(p.Name), policy.TemplatesName(p.Name)
	m, mb := &admissionv1.MutatingAdmissionPolicy{}, &admissionv1.MutatingAdmissionPolicyBinding{}
	v, vb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	iv, ivb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	tv, tvb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	objects := []owned{
		{m, mutating, orNil(o.Mutating != nil, o.Mutating), func() { m.Spec = o.Mutating.Spec }, true},
		{mb, mutating, orNil(o.MutatingBinding != nil, o.MutatingBinding), func() { mb.Spec = o.MutatingBinding.Spec }, false},
		{v, validating, orNil(o.Validating != nil, o.Validating), func() { v.Spec = o.Validating.Spec }, true},
		{vb, validating, orNil(o.ValidatingBind != nil, o.ValidatingBind), func() { vb.Spec = o.ValidatingBind.Spec }, false},
		{iv, installed, orNil(o.Installed != nil, o.Installed), func() { iv.Spec = o.Installed.Spec }, true},
		{ivb, installed, orNil(o.InstalledBind != nil, o.InstalledBind), func() { ivb.Spec = o.InstalledBind.Spec }, false},
		{tv, templates, orNil(o.Templates != nil, o.Templates), func() { tv.Spec = o.Templates.Spec }, true},
		{tvb, templates, orNil(o.TemplatesBind != nil, o.TemplatesBind), func() { tvb.Spec = o.TemplatesBind.Spec }, false},
	}
	return applyObjects(ctx, r.Client, p, "policy "+p.Name, objects)
}

// orNil is c, or nil when !ok: a typed nil pointer in an interface is not
// nil.
func orNil(ok bool, c client.Object) client.Object {
	if !ok {
		return nil
	}
	return c
}

// applyObjects makes each needed object exist with its compiled spec and
// labels, owned (controller reference) by owner unless nil, and deletes
// the ones not needed; it returns the kept policies' names. what names the
// owner in errors.
func applyObjects(ctx context.Context, c client.Client, owner client.Object, what string, objects []owned) ([]string, error) {
	var kept []string
	for _, st := range objects {
		st.obj.SetName(st.name)
		if st.compiled == nil {
			if err := c.Delete(ctx, st.obj); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("%s: delete %T %s: %w", what, st.obj, st.name, err)
			}
			continue
		}
		if _, err := controllerutil.CreateOrUpdate(ctx, c, st.obj, func() error {
			st.spec()
			st.obj.SetLabels(st.compiled.GetLabels())
			if owner == nil {
				return nil
			}
			return controllerutil.SetControllerReference(owner, st.obj, c.Scheme())
		}); err != nil {
			return nil, fmt.Errorf("%s: apply %T %s: %w", what, st.obj, st.name, err)
		}
		if st.isPolicy {
			kept = append(kept, st.name)
		}
	}
	return kept, nil
}
