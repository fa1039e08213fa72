package controller

import (
	"context"
	"fmt"

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
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SeccompPolicy{}).
		// Precedence: any policy's change may change every other's objects.
		Watches(&v1alpha1.SeccompPolicy{}, all).
		Owns(&admissionv1.MutatingAdmissionPolicy{}).
		Owns(&admissionv1.MutatingAdmissionPolicyBinding{}).
		Owns(&admissionv1.ValidatingAdmissionPolicy{}).
		Owns(&admissionv1.ValidatingAdmissionPolicyBinding{}).
		Complete(r)
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
	status := p.Status.DeepCopy()
	status.ObservedGeneration = p.Generation
	objs, err := policy.Compile(&p, list.Items, r.OperatorNamespace)
	if err != nil {
		meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady,
			Status: metav1.ConditionFalse, Reason: ReasonNotCompiled, Message: err.Error(), ObservedGeneration: p.Generation})
		return reconcile.Result{}, r.writeStatus(ctx, &p, status)
	}
	names, err := r.apply(ctx, &p, objs)
	if err != nil {
		return reconcile.Result{}, err
	}
	status.AdmissionPolicies = names
	meta.SetStatusCondition(&status.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady,
		Status: metav1.ConditionTrue, Reason: ReasonCompiledToNative, ObservedGeneration: p.Generation,
		Message: "enforced by the apiserver through its admission policies"})
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

// apply makes each wanted object exist with the compiled spec and removes
// the ones the policy does not need; it returns the kept policies' names.
func (r *PolicyReconciler) apply(ctx context.Context, p *v1alpha1.SeccompPolicy, o policy.Objects) ([]string, error) {
	mutating, validating, installed, templates := policy.MutatingName(p.Name), policy.ValidatingName(p.Name), policy.InstalledName(p.Name), policy.TemplatesName(p.Name)
	steps := []struct {
		name string
		obj  client.Object // an empty object of the kind, named below
		want client.Object // nil when the policy needs none
		spec func()        // copies want's spec into obj
	}{}
	add := func(name string, obj, want client.Object, needed bool, spec func()) {
		if !needed {
			want = nil
		}
		steps = append(steps, struct {
			name string
			obj  client.Object
			want client.Object
			spec func()
		}{name, obj, want, spec})
	}
	m, mb := &admissionv1.MutatingAdmissionPolicy{}, &admissionv1.MutatingAdmissionPolicyBinding{}
	v, vb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	add(mutating, m, o.Mutating, o.Mutating != nil, func() { m.Spec = o.Mutating.Spec })
	add(mutating, mb, o.MutatingBinding, o.MutatingBinding != nil, func() { mb.Spec = o.MutatingBinding.Spec })
	add(validating, v, o.Validating, o.Validating != nil, func() { v.Spec = o.Validating.Spec })
	add(validating, vb, o.ValidatingBind, o.ValidatingBind != nil, func() { vb.Spec = o.ValidatingBind.Spec })
	iv, ivb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	add(installed, iv, o.Installed, o.Installed != nil, func() { iv.Spec = o.Installed.Spec })
	add(installed, ivb, o.InstalledBind, o.InstalledBind != nil, func() { ivb.Spec = o.InstalledBind.Spec })
	tv, tvb := &admissionv1.ValidatingAdmissionPolicy{}, &admissionv1.ValidatingAdmissionPolicyBinding{}
	add(templates, tv, o.Templates, o.Templates != nil, func() { tv.Spec = o.Templates.Spec })
	add(templates, tvb, o.TemplatesBind, o.TemplatesBind != nil, func() { tvb.Spec = o.TemplatesBind.Spec })

	var kept []string
	for _, st := range steps {
		st.obj.SetName(st.name)
		if st.want == nil {
			if err := r.Delete(ctx, st.obj); client.IgnoreNotFound(err) != nil {
				return nil, fmt.Errorf("policy %s: delete %T %s: %w", p.Name, st.obj, st.name, err)
			}
			continue
		}
		if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, st.obj, func() error {
			st.spec()
			st.obj.SetLabels(st.want.GetLabels())
			return controllerutil.SetControllerReference(p, st.obj, r.Scheme())
		}); err != nil {
			return nil, fmt.Errorf("policy %s: apply %T %s: %w", p.Name, st.obj, st.name, err)
		}
		if st.obj == m || st.obj == v || st.obj == iv || st.obj == tv {
			kept = append(kept, st.name)
		}
	}
	return kept, nil
}
