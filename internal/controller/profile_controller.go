// Package controller holds the manager's reconcilers.
package controller

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Ready condition reasons.
const (
	ReasonCompiled = "Compiled"
	ReasonInvalid  = "Invalid"
	ReasonDisabled = "Disabled"
)

// baseIndex indexes SeccompProfiles by spec.baseProfileName, so that a change
// to a base re-renders its children.
const baseIndex = "spec.baseProfileName"

// hostFamilies are the node architectures a profile is compiled for: what
// the kernel would reject must be found here, not on a node.
var hostFamilies = []string{"x86_64", "aarch64"}

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompnodestatuses,verbs=get;list;watch

// ProfileReconciler flattens, validates and compiles each SeccompProfile and
// reports the outcome in its status.
type ProfileReconciler struct {
	client.Client
}

// SetupWithManager registers the reconciler and the base → children index.
func (r *ProfileReconciler) SetupWithManager(mgr ctrl.Manager) error {
	if err := mgr.GetFieldIndexer().IndexField(context.Background(), &v1alpha1.SeccompProfile{}, baseIndex,
		func(o client.Object) []string {
			if b := o.(*v1alpha1.SeccompProfile).Spec.BaseProfileName; b != "" {
				return []string{b}
			}
			return nil
		}); err != nil {
		return fmt.Errorf("index %s: %w", baseIndex, err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SeccompProfile{}).
		// A change to any profile re-renders the profiles built on it.
		Watches(&v1alpha1.SeccompProfile{}, handler.EnqueueRequestsFromMapFunc(r.children)).
		Watches(&v1alpha1.SeccompNodeStatus{}, handler.EnqueueRequestsFromMapFunc(r.allProfiles)).
		Named("seccompprofile").
		Complete(r)
}

func (r *ProfileReconciler) children(ctx context.Context, o client.Object) []reconcile.Request {
	var list v1alpha1.SeccompProfileList
	if err := r.List(ctx, &list, client.MatchingFields{baseIndex: o.GetName()}); err != nil {
		log.FromContext(ctx).Error(err, "list children", "base", o.GetName())
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, c := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: c.Name}})
	}
	return out
}

// allProfiles enqueues every profile: a node's state (or a node joining or
// leaving) changes every profile's node counts, not only those it lists.
// The workqueue folds repeated requests.
func (r *ProfileReconciler) allProfiles(ctx context.Context, _ client.Object) []reconcile.Request {
	var list v1alpha1.SeccompProfileList
	if err := r.List(ctx, &list); err != nil {
		log.FromContext(ctx).Error(err, "list profiles")
		return nil
	}
	out := make([]reconcile.Request, 0, len(list.Items))
	for _, p := range list.Items {
		out = append(out, reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
	}
	return out
}

// Reconcile renders one profile and writes its status when it changed.
func (r *ProfileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	defer func() { reconcileSeconds.Observe(time.Since(start).Seconds()) }()

	var sp v1alpha1.SeccompProfile
	if err := r.Get(ctx, req.NamespacedName, &sp); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	status := sp.Status.DeepCopy()
	status.ObservedGeneration = sp.Generation
	status.LocalhostProfile = nodepath.ProfilePath(sp.Name)
	cond := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: sp.Generation}
	var hash string
	if sp.Spec.Disabled {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonDisabled, "spec.disabled is true: the profile is not installed on nodes"
	} else if h, msg := r.render(ctx, &sp); msg != "" {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonInvalid, msg
	} else {
		hash = h
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, ReasonCompiled, "flattened, validated and compiled for "+strings.Join(hostFamilies, " and ")
	}
	meta.SetStatusCondition(&status.Conditions, cond)
	if err := r.aggregate(ctx, sp.Name, hash, status, sp.Generation); err != nil {
		return ctrl.Result{}, err
	}
	if equality.Semantic.DeepEqual(status, &sp.Status) {
		return ctrl.Result{}, nil // nothing changed: no write
	}
	patch := client.MergeFrom(sp.DeepCopy())
	sp.Status = *status
	if err := r.Status().Patch(ctx, &sp, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patch status of profile %s: %w", sp.Name, err)
	}
	return ctrl.Result{}, nil
}

// render flattens, validates and compiles sp; it returns the content hash
// of what nodes install when the profile is installable, else a message
// naming every problem.
func (r *ProfileReconciler) render(ctx context.Context, sp *v1alpha1.SeccompProfile) (hash, problem string) {
	flat, err := Flatten(ctx, r.Client, sp)
	if err != nil {
		return "", err.Error()
	}
	if errs := profile.Validate(flat).Errors(); len(errs) > 0 {
		lines := make([]string, len(errs))
		for i, e := range errs {
			lines[i] = e.String()
		}
		return "", strings.Join(lines, "; ")
	}
	compiled := 0
	for _, fam := range hostFamilies {
		if !coversFamily(flat, fam) {
			continue
		}
		if _, err := bpf.Compile(flat, bpf.Options{Arch: fam}); err != nil {
			return "", fmt.Sprintf("compile for %s: %v", fam, err)
		}
		compiled++
	}
	if compiled == 0 {
		return "", fmt.Sprintf("spec.architectures %v covers none of the node architectures %v", flat.Architectures, hostFamilies)
	}
	b, err := render.Render(sp.Spec.Mode, flat)
	if err != nil {
		return "", err.Error()
	}
	return render.Hash(b), ""
}

// aggregate sets the node counts, failed nodes and the Installed condition
// from the SeccompNodeStatus objects: a node counts as installed when it
// reports the current content hash.
func (r *ProfileReconciler) aggregate(ctx context.Context, name, hash string, status *v1alpha1.SeccompProfileStatus, gen int64) error {
	var nodes v1alpha1.SeccompNodeStatusList
	if err := r.List(ctx, &nodes); err != nil {
		return fmt.Errorf("list node states: %w", err)
	}
	status.NodesTotal, status.NodesInstalled, status.FailedNodes = int32(len(nodes.Items)), 0, nil
	for _, n := range nodes.Items {
		for _, st := range n.Status.Profiles {
			if st.Name != name {
				continue
			}
			switch {
			case st.State == v1alpha1.InstallStateInstalled && st.ContentHash == hash && hash != "":
				status.NodesInstalled++
			case st.State == v1alpha1.InstallStateFailed:
				status.FailedNodes = append(status.FailedNodes, v1alpha1.NodeFailure{Node: n.Name, Message: st.Message})
			}
		}
	}
	sort.Slice(status.FailedNodes, func(i, j int) bool { return status.FailedNodes[i].Node < status.FailedNodes[j].Node })
	c := metav1.Condition{Type: v1alpha1.ConditionInstalled, ObservedGeneration: gen, Status: metav1.ConditionFalse, Reason: "Pending",
		Message: fmt.Sprintf("installed on %d of %d nodes", status.NodesInstalled, status.NodesTotal)}
	switch {
	case hash == "":
		c.Reason, c.Message = "NotReady", "the profile is not ready, so no node installs it"
	case len(status.FailedNodes) > 0:
		c.Reason = "Failed"
		c.Message += fmt.Sprintf("; failed on %d", len(status.FailedNodes))
	case status.NodesTotal > 0 && status.NodesInstalled == status.NodesTotal:
		c.Status, c.Reason = metav1.ConditionTrue, "Installed"
	}
	meta.SetStatusCondition(&status.Conditions, c)
	return nil
}

func coversFamily(p *profile.Profile, fam string) bool {
	for _, a := range syscalls.Family(fam) {
		for _, n := range p.Architectures {
			if got, ok := syscalls.Get(n); ok && got == a {
				return true
			}
		}
	}
	return false
}

// Flatten resolves sp's inheritance chain through the cluster's profiles.
func Flatten(ctx context.Context, c client.Reader, sp *v1alpha1.SeccompProfile) (*profile.Profile, error) {
	nodes := map[string]profile.Node{sp.Name: nodeOf(sp)}
	var lookupErr error
	p, err := profile.Flatten(sp.Name, func(name string) (profile.Node, bool) {
		if n, ok := nodes[name]; ok {
			return n, true
		}
		var base v1alpha1.SeccompProfile
		if err := c.Get(ctx, types.NamespacedName{Name: name}, &base); err != nil {
			if !apierrors.IsNotFound(err) {
				lookupErr = err
			}
			return profile.Node{}, false
		}
		nodes[name] = nodeOf(&base)
		return nodes[name], true
	})
	if lookupErr != nil {
		return nil, fmt.Errorf("read base profiles of %s: %w", sp.Name, lookupErr)
	}
	return p, err
}

func nodeOf(sp *v1alpha1.SeccompProfile) profile.Node {
	return profile.Node{Name: sp.Name, Base: sp.Spec.BaseProfileName, Profile: sp.Spec.ToProfile()}
}
