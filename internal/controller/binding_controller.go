package controller

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// Reasons of a ProfileBinding's conditions.
const (
	ReasonProfileInstalled = "Installed"
	ReasonProfileMissing   = "ProfileMissing"
	ReasonNotInstalled     = "NotInstalled"
)

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilebindings/status,verbs=get;update;patch

// BindingReconciler keeps the admission objects that carry the
// ProfileBindings of each namespace (internal/policy.CompileBindings) and
// the bindings' status. Its key is the namespace: precedence between a
// namespace's bindings makes them one unit. The objects are cluster-scoped
// and so cannot be owned by a namespaced binding (the garbage collector
// ignores such owner references); the reconciler deletes them itself when
// a namespace has no binding left, and finds them by label.
type BindingReconciler struct {
	client.Client
	// Webhook and NativeAPI as in PolicyReconciler.
	Webhook, NativeAPI bool
}

// SetupWithManager registers the reconciler.
func (r *BindingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byNamespace := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: o.GetNamespace()}}}
	})
	byLabel := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		ns, ok := o.GetLabels()[policy.LabelBindingNamespace]
		if !ok {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Name: ns}}}
	})
	// A profile's state is the bindings' ProfileInstalled condition.
	byProfile := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, o client.Object) []reconcile.Request {
		return r.namespacesWith(ctx, func(b *v1alpha1.ProfileBinding) bool { return b.Spec.ProfileName == o.GetName() })
	})
	// The installed checks carry what the index says of the bound
	// profiles (policy.CompileBindings): every namespace with bindings.
	byIndex := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		return r.namespacesWith(ctx, func(*v1alpha1.ProfileBinding) bool { return true })
	})
	b := ctrl.NewControllerManagedBy(mgr).
		Named("profilebinding").
		Watches(&v1alpha1.ProfileBinding{}, byNamespace).
		Watches(&v1alpha1.SeccompProfile{}, byProfile).
		Watches(&v1alpha1.SeccompProfileIndex{}, byIndex)
	if r.NativeAPI {
		b = b.Watches(&admissionv1.MutatingAdmissionPolicy{}, byLabel).
			Watches(&admissionv1.MutatingAdmissionPolicyBinding{}, byLabel).
			Watches(&admissionv1.ValidatingAdmissionPolicy{}, byLabel).
			Watches(&admissionv1.ValidatingAdmissionPolicyBinding{}, byLabel)
	}
	return b.Complete(r)
}

// namespacesWith are the keys of the namespaces that have a binding for
// which keep holds.
func (r *BindingReconciler) namespacesWith(ctx context.Context, keep func(*v1alpha1.ProfileBinding) bool) []reconcile.Request {
	var list v1alpha1.ProfileBindingList
	if err := r.List(ctx, &list); err != nil {
		return nil
	}
	var reqs []reconcile.Request
	for i := range list.Items {
		req := reconcile.Request{NamespacedName: types.NamespacedName{Name: list.Items[i].Namespace}}
		if keep(&list.Items[i]) && !slices.Contains(reqs, req) {
			reqs = append(reqs, req)
		}
	}
	return reqs
}

// Reconcile applies the admission objects of one namespace's bindings
// (req.Name is the namespace) and writes their status.
func (r *BindingReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	ns := req.Name
	var list v1alpha1.ProfileBindingList
	if err := r.List(ctx, &list, client.InNamespace(ns)); err != nil {
		return reconcile.Result{}, fmt.Errorf("list the ProfileBindings of %s: %w", ns, err)
	}
	live := slices.DeleteFunc(slices.Clone(list.Items), func(b v1alpha1.ProfileBinding) bool { return !b.DeletionTimestamp.IsZero() })
	index, err := publishedIndex(ctx, r)
	if err != nil {
		return reconcile.Result{}, err
	}
	o, compileErr := policy.CompileBindings(ns, live, index)
	if r.Webhook {
		o = policy.BindingObjects{} // none: removes what the native path left
	}
	if compileErr == nil && r.NativeAPI {
		name := policy.BindingsName(ns)
		m, mb := &admissionv1.MutatingAdmissionPolicy{}, &admissionv1.MutatingAdmissionPolicyBinding{}
		v, vb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
		tname := policy.BindingsTemplatesName(ns)
		t, tb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
		if _, err := applyObjects(ctx, r.Client, nil, "ProfileBindings of "+ns, []owned{
			{m, name, orNil(o.Mutating != nil, o.Mutating), func() { m.Spec = o.Mutating.Spec }, true},
			{mb, name, orNil(o.MutatingBinding != nil, o.MutatingBinding), func() { mb.Spec = o.MutatingBinding.Spec }, false},
			{v, name, orNil(o.Installed != nil, o.Installed), func() { v.Spec = o.Installed.Spec }, true},
			{vb, name, orNil(o.InstalledBind != nil, o.InstalledBind), func() { vb.Spec = o.InstalledBind.Spec }, false},
			{t, tname, orNil(o.Templates != nil, o.Templates), func() { t.Spec = o.Templates.Spec }, true},
			{tb, tname, orNil(o.TemplatesBind != nil, o.TemplatesBind), func() { tb.Spec = o.TemplatesBind.Spec }, false},
		}); err != nil {
			return reconcile.Result{}, err
		}
	}
	for i := range live {
		if err := r.writeStatus(ctx, &live[i], compileErr); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

// writeStatus sets Ready (compiled and applied, or why not) and
// ProfileInstalled (from the profile's own status, in the words the
// admission message uses).
func (r *BindingReconciler) writeStatus(ctx context.Context, b *v1alpha1.ProfileBinding, compileErr error) error {
	status := b.Status.DeepCopy()
	status.ObservedGeneration = b.Generation
	ready := metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: ReasonCompiledToNative,
		ObservedGeneration: b.Generation, Message: "applied to pods created in " + b.Namespace + " by the apiserver's admission policy " + policy.BindingsName(b.Namespace)}
	invalid := policy.CheckBinding(b)
	switch {
	case invalid != nil:
		ready.Status, ready.Reason = metav1.ConditionFalse, ReasonInvalidSpec
		ready.Message = invalid.Error() + "; the binding binds nothing until it is fixed (the namespace's other bindings still apply)"
	case compileErr != nil:
		ready.Status, ready.Reason, ready.Message = metav1.ConditionFalse, ReasonNotCompiled, compileErr.Error()
	case r.Webhook:
		ready.Reason, ready.Message = ReasonFallbackWebhook, "applied to pods created in "+b.Namespace+" by the manager's fallback admission webhook"
	}
	meta.SetStatusCondition(&status.Conditions, ready)
	inst := metav1.Condition{Type: v1alpha1.ConditionProfileInstalled, ObservedGeneration: b.Generation}
	var p v1alpha1.SeccompProfile
	var err error
	if invalid == nil {
		err = r.Get(ctx, client.ObjectKey{Name: b.Spec.ProfileName}, &p)
	}
	switch {
	case invalid != nil:
		inst.Status, inst.Reason = metav1.ConditionFalse, ReasonInvalidSpec
		inst.Message = "spec.profileName " + strconv.Quote(b.Spec.ProfileName) + " can name no SeccompProfile"
	case apierrors.IsNotFound(err):
		inst.Status, inst.Reason = metav1.ConditionFalse, ReasonProfileMissing
		inst.Message = "no SeccompProfile " + b.Spec.ProfileName + " exists: pods this binding would bind are refused"
	case err != nil:
		return fmt.Errorf("read SeccompProfile %s of ProfileBinding %s/%s: %w", b.Spec.ProfileName, b.Namespace, b.Name, err)
	default:
		if v := IndexValue(&p); v == v1alpha1.ProfileIndexInstalled {
			inst.Status, inst.Reason, inst.Message = metav1.ConditionTrue, ReasonProfileInstalled, "SeccompProfile "+p.Name+" is installed on every node"
		} else {
			inst.Status, inst.Reason = metav1.ConditionFalse, ReasonNotInstalled
			inst.Message = "SeccompProfile " + p.Name + " is " + v + ": pods this binding would bind are refused until it is installed"
		}
	}
	meta.SetStatusCondition(&status.Conditions, inst)
	if equality.Semantic.DeepEqual(status, &b.Status) {
		return nil
	}
	patch := client.MergeFrom(b.DeepCopy())
	b.Status = *status
	if err := r.Status().Patch(ctx, b, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch status of ProfileBinding %s/%s: %w", b.Namespace, b.Name, err)
	}
	return nil
}
