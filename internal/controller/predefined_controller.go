package controller

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// PredefinedLabel marks the SeccompProfiles the manager owns as predefined.
const PredefinedLabel = v1alpha1.LabelPredefined

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles,verbs=create;update

// PredefinedReconciler keeps the five predefined profiles present and
// unmodified: created at start, recreated when deleted, restored when
// edited.
type PredefinedReconciler struct {
	client.Client
}

// SetupWithManager watches the predefined profiles by name and seeds one
// event per profile so they are created at start.
func (r *PredefinedReconciler) SetupWithManager(mgr ctrl.Manager) error {
	names := map[string]bool{}
	seed := make(chan event.GenericEvent, len(predefined.Names()))
	for _, n := range predefined.Names() {
		names[n] = true
		seed <- event.GenericEvent{Object: &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: n}}}
	}
	isPredefined := predicate.NewPredicateFuncs(func(o client.Object) bool { return names[o.GetName()] })
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SeccompProfile{}, builder.WithPredicates(isPredefined)).
		WatchesRawSource(source.Channel(seed, enqueueByName)).
		Named("predefined").
		Complete(r)
}

// Reconcile creates or restores one predefined profile.
func (r *PredefinedReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	want, err := desiredPredefined(req.Name)
	if err != nil {
		return ctrl.Result{}, err
	}
	var got v1alpha1.SeccompProfile
	if err := r.Get(ctx, types.NamespacedName{Name: req.Name}, &got); apierrors.IsNotFound(err) {
		if err := r.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
			return ctrl.Result{}, fmt.Errorf("create predefined profile %s: %w", req.Name, err)
		}
		return ctrl.Result{}, nil
	} else if err != nil {
		return ctrl.Result{}, err
	}
	if equality.Semantic.DeepEqual(got.Spec, want.Spec) && got.Labels[PredefinedLabel] == "true" {
		return ctrl.Result{}, nil
	}
	got.Spec = want.Spec
	if got.Labels == nil {
		got.Labels = map[string]string{}
	}
	got.Labels[PredefinedLabel] = "true"
	if err := r.Update(ctx, &got); err != nil {
		return ctrl.Result{}, fmt.Errorf("restore predefined profile %s: %w", req.Name, err)
	}
	return ctrl.Result{}, nil
}

// desiredPredefined is the object for a predefined profile, with every
// field the apiserver would default set explicitly, so that comparing it
// with the stored object finds only real edits.
func desiredPredefined(name string) (*v1alpha1.SeccompProfile, error) {
	p, ok := predefined.Get(name)
	if !ok {
		return nil, fmt.Errorf("no predefined profile %q", name)
	}
	spec := v1alpha1.SpecFromProfile(p.Profile)
	spec.Mode = v1alpha1.ModeEnforce
	return &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{PredefinedLabel: "true"}},
		Spec:       spec,
	}, nil
}
