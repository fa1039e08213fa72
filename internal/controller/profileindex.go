package controller

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofileindexes,verbs=get;list;watch;create;update

// ProfileIndexReconciler publishes which SeccompProfiles exist and whether
// each is installed on every node, in the SeccompProfileIndex "cluster".
// The admission policies carry it (policy.Compile; the policy and binding
// reconcilers watch it) and the fallback webhook reads it: CEL cannot list
// custom resources, and a pod that names a profile no node has would
// otherwise sit in ContainerCreating. One key for all profiles:
// bursts of status changes coalesce into one write.
type ProfileIndexReconciler struct {
	Client client.Client
	// Reader reads the index without an informer of its own.
	Reader client.Reader

	// what was last written
	lastInstalled    string
	lastNotInstalled map[string]string
	written          bool
}

var indexKey = reconcile.Request{NamespacedName: types.NamespacedName{Name: v1alpha1.ProfileIndexName}}

// SetupWithManager registers the reconciler.
func (r *ProfileIndexReconciler) SetupWithManager(mgr manager.Manager) error {
	one := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{indexKey}
	})
	return ctrl.ControllerManagedBy(mgr).
		Named("profileindex").
		Watches(&v1alpha1.SeccompProfile{}, one).
		Complete(r)
}

// Reconcile writes the index when it differs from the last one written.
func (r *ProfileIndexReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	var list v1alpha1.SeccompProfileList
	if err := r.Client.List(ctx, &list); err != nil {
		return reconcile.Result{}, fmt.Errorf("list profiles: %w", err)
	}
	names := make([]string, 0, len(list.Items))
	notInstalled := map[string]string{}
	for i := range list.Items {
		if v := IndexValue(&list.Items[i]); v == v1alpha1.ProfileIndexInstalled {
			names = append(names, list.Items[i].Name)
		} else {
			notInstalled[list.Items[i].Name] = v
		}
	}
	slices.Sort(names)
	installed := ""
	if len(names) > 0 {
		installed = "," + strings.Join(names, ",") + ","
	}
	if installed == r.lastInstalled && maps.Equal(notInstalled, r.lastNotInstalled) && r.written {
		return reconcile.Result{}, nil
	}
	var idx v1alpha1.SeccompProfileIndex
	key := client.ObjectKey{Name: v1alpha1.ProfileIndexName}
	err := r.Reader.Get(ctx, key, &idx)
	switch {
	case apierrors.IsNotFound(err):
		idx = v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName,
			Labels: map[string]string{"app.kubernetes.io/managed-by": "seccomp-operator"}},
			Installed: installed, NotInstalled: notInstalled}
		err = r.Client.Create(ctx, &idx)
	case err == nil:
		if idx.Installed != installed || !maps.Equal(idx.NotInstalled, notInstalled) {
			idx.Installed, idx.NotInstalled = installed, notInstalled
			err = r.Client.Update(ctx, &idx)
		}
	}
	if err != nil {
		return reconcile.Result{}, fmt.Errorf("write the profile index: %w", err)
	}
	r.lastInstalled, r.lastNotInstalled, r.written = installed, notInstalled, true
	return reconcile.Result{}, nil
}

// IndexValue is what the index says of a profile: "Installed" when it is
// installed on every node, otherwise why not, in words an admission
// message can quote.
func IndexValue(p *v1alpha1.SeccompProfile) string {
	if p.Spec.Disabled {
		return "disabled"
	}
	ready := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionReady)
	if ready == nil || ready.ObservedGeneration != p.Generation {
		return "not processed by the manager yet"
	}
	if ready.Status != metav1.ConditionTrue {
		return "invalid: " + ready.Message
	}
	inst := meta.FindStatusCondition(p.Status.Conditions, v1alpha1.ConditionInstalled)
	switch {
	case p.Status.NodesTotal == 0 && inst != nil && inst.ObservedGeneration == p.Generation:
		// No node at all: installed on every node, vacuously. A pod cannot
		// run before a node joins, and a joining node's agent installs
		// every profile.
		return v1alpha1.ProfileIndexInstalled
	case inst == nil:
		return "not installed on any node yet"
	case inst.Status == metav1.ConditionTrue && inst.ObservedGeneration == p.Generation:
		return v1alpha1.ProfileIndexInstalled
	}
	return "not installed on every node yet: " + inst.Message
}

// publishedIndex reads the SeccompProfileIndex, nil when there is none
// yet: the admission policies then read it as params once it appears.
func publishedIndex(ctx context.Context, c client.Reader) (*v1alpha1.SeccompProfileIndex, error) {
	var idx v1alpha1.SeccompProfileIndex
	switch err := c.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &idx); {
	case apierrors.IsNotFound(err):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read the profile index: %w", err)
	}
	return &idx, nil
}
