// Package controller holds the manager's reconcilers.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
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
	// Concurrency is how many profiles are reconciled at once (default
	// 4): a bulk apply is bound by status writes, which are independent.
	Concurrency int
	// NodeCountInterval is the least time between two status writes of a
	// profile that only update node counts (DefaultNodeCountInterval when
	// 0). While 100 nodes install a profile one by one, its status is then
	// written a few times instead of 100; changes of the profile itself
	// (Ready, generation) are written at once.
	NodeCountInterval time.Duration

	mu        sync.Mutex
	lastWrite map[string]time.Time
}

// DefaultNodeCountInterval: see ProfileReconciler.NodeCountInterval.
const DefaultNodeCountInterval = 2 * time.Second

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
	if err := metrics.Registry.Register(newProfileCounter(mgr.GetCache())); err != nil {
		var already prometheus.AlreadyRegisteredError
		if !errors.As(err, &already) {
			return fmt.Errorf("register profile metrics: %w", err)
		}
	}
	workers := r.Concurrency
	if workers <= 0 {
		workers = 4
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.SeccompProfile{}).
		// A change to any profile re-renders the profiles built on it.
		Watches(&v1alpha1.SeccompProfile{}, handler.EnqueueRequestsFromMapFunc(r.children)).
		Watches(&v1alpha1.SeccompNodeStatus{}, r.nodeStateHandler()).
		Named("seccompprofile").
		WithOptions(controller.Options{MaxConcurrentReconciles: workers}).
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

// nodeStateHandler maps node state events to the profiles they affect. A
// node joining or leaving changes every profile's node count; an update
// only affects the profiles whose entry on that node changed. At 100 nodes
// × 1000 profiles, re-queueing every profile on every node update would be
// 100,000 reconciles per rollout instead of about one per profile and node.
func (r *ProfileReconciler) nodeStateHandler() handler.EventHandler {
	all := func(ctx context.Context, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
		var list v1alpha1.SeccompProfileList
		if err := r.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
			log.FromContext(ctx).Error(err, "list profiles")
			return
		}
		for _, p := range list.Items {
			q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: p.Name}})
		}
	}
	return handler.Funcs{
		CreateFunc: func(ctx context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, q)
		},
		DeleteFunc: func(ctx context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			all(ctx, q)
		},
		UpdateFunc: func(_ context.Context, ev event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			oldNS, ok1 := ev.ObjectOld.(*v1alpha1.SeccompNodeStatus)
			newNS, ok2 := ev.ObjectNew.(*v1alpha1.SeccompNodeStatus)
			if !ok1 || !ok2 {
				return
			}
			for _, name := range changedProfiles(oldNS.Status.Profiles, newNS.Status.Profiles) {
				q.Add(reconcile.Request{NamespacedName: types.NamespacedName{Name: name}})
			}
		},
	}
}

// changedProfiles returns the names whose entry differs between two node
// states (added, removed or changed).
func changedProfiles(before, after []v1alpha1.NodeProfileState) []string {
	old := make(map[string]v1alpha1.NodeProfileState, len(before))
	for _, st := range before {
		old[st.Name] = st
	}
	var out []string
	for _, st := range after {
		o, ok := old[st.Name]
		delete(old, st.Name)
		if !ok || o.State != st.State || o.ContentHash != st.ContentHash || o.Reason != st.Reason || o.Message != st.Message {
			out = append(out, st.Name)
		}
	}
	for name := range old {
		out = append(out, name)
	}
	return out
}

// Reconcile renders one profile and writes its status when it changed.
func (r *ProfileReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	start := time.Now()
	defer func() { reconcileSeconds.Observe(time.Since(start).Seconds()) }()

	var sp v1alpha1.SeccompProfile
	if err := r.Get(ctx, req.NamespacedName, &sp); err != nil {
		if apierrors.IsNotFound(err) {
			r.forget(req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	status := sp.Status.DeepCopy()
	status.ObservedGeneration = sp.Generation
	rel, err := nodepath.ProfilePath(sp.Name)
	if err != nil {
		return ctrl.Result{}, nil // the apiserver admits no such name: nothing to install, nothing to say
	}
	status.LocalhostProfile = rel
	cond := metav1.Condition{Type: v1alpha1.ConditionReady, ObservedGeneration: sp.Generation}
	var hash, otherHash string
	if sp.Spec.Disabled {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonDisabled, "spec.disabled is true: the profile is not installed on nodes"
	} else if prep, err := render.Prepare(ctx, BaseLookup(r.Client), &sp, hostFamilies, true); err != nil {
		return ctrl.Result{}, err
	} else if prep.Problem != "" {
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, ReasonInvalid, prep.Problem
	} else {
		// A node whose runtime refuses seccomp flags installs the profile
		// without the operator's SECCOMP_FILTER_FLAG_LOG (and says so in
		// its status.runtime): its file is current too.
		hash, otherHash = prep.Hash, prep.OtherHash
		cond.Status, cond.Reason, cond.Message = metav1.ConditionTrue, ReasonCompiled, "flattened, validated and compiled for "+strings.Join(hostFamilies, " and ")
	}
	meta.SetStatusCondition(&status.Conditions, cond)
	if err := r.aggregate(ctx, sp.Name, hash, otherHash, status, sp.Generation); err != nil {
		return ctrl.Result{}, err
	}
	if equality.Semantic.DeepEqual(status, &sp.Status) {
		return ctrl.Result{}, nil // nothing changed: no write
	}
	if progressOnly(&sp.Status, status) {
		if wait := r.nodeCountWait(sp.Name); wait > 0 {
			return ctrl.Result{RequeueAfter: wait}, nil
		}
	}
	patch := client.MergeFrom(sp.DeepCopy())
	sp.Status = *status
	if err := r.Status().Patch(ctx, &sp, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, fmt.Errorf("patch status of profile %s: %w", sp.Name, err)
	}
	r.wrote(sp.Name)
	return ctrl.Result{}, nil
}

// progressOnly reports whether the change from a to b may wait for the
// node-count interval: progress (3 of 100 nodes → 4 of 100) may; a change
// of the profile itself may not, nor the moment the profile becomes
// Installed everywhere or stops being so, which users and pods wait for.
func progressOnly(a, b *v1alpha1.SeccompProfileStatus) bool {
	return onlyNodeCounts(a, b) && installedStatus(a) == installedStatus(b)
}

// installedStatus is the status of the Installed condition ("" if absent).
func installedStatus(s *v1alpha1.SeccompProfileStatus) metav1.ConditionStatus {
	if c := meta.FindStatusCondition(s.Conditions, v1alpha1.ConditionInstalled); c != nil {
		return c.Status
	}
	return ""
}

// onlyNodeCounts reports whether two statuses differ only in what the
// nodes report (counts, failures, the Installed condition).
func onlyNodeCounts(a, b *v1alpha1.SeccompProfileStatus) bool {
	strip := func(s *v1alpha1.SeccompProfileStatus) *v1alpha1.SeccompProfileStatus {
		c := s.DeepCopy()
		c.NodesInstalled, c.NodesTotal, c.FailedNodes = 0, 0, nil
		meta.RemoveStatusCondition(&c.Conditions, v1alpha1.ConditionInstalled)
		return c
	}
	return equality.Semantic.DeepEqual(strip(a), strip(b))
}

func (r *ProfileReconciler) interval() time.Duration {
	if r.NodeCountInterval > 0 {
		return r.NodeCountInterval
	}
	return DefaultNodeCountInterval
}

// nodeCountWait is how long a node-count-only write of name must wait.
func (r *ProfileReconciler) nodeCountWait(name string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	last, ok := r.lastWrite[name]
	if !ok {
		return 0
	}
	return r.interval() - time.Since(last)
}

func (r *ProfileReconciler) wrote(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastWrite == nil {
		r.lastWrite = map[string]time.Time{}
	}
	r.lastWrite[name] = time.Now()
}

func (r *ProfileReconciler) forget(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.lastWrite, name)
}

// aggregate sets the node counts, failed nodes and the Installed condition
// from the SeccompNodeStatus objects: a node counts as installed when it
// reports the current content hash, hash, or otherHash (render.Prepared:
// the same version rendered without the operator's SECCOMP_FILTER_FLAG_LOG,
// for a node whose runtime refuses flags; "" when there is none).
func (r *ProfileReconciler) aggregate(ctx context.Context, name, hash, otherHash string, status *v1alpha1.SeccompProfileStatus, gen int64) error {
	var nodes v1alpha1.SeccompNodeStatusList
	// Read-only use of the cached objects: copying 100 node states of 1000
	// entries for each of 1000 profiles would dominate a rollout.
	if err := r.List(ctx, &nodes, client.UnsafeDisableDeepCopy); err != nil {
		return fmt.Errorf("list node states: %w", err)
	}
	status.NodesTotal, status.NodesInstalled, status.FailedNodes = int32(len(nodes.Items)), 0, nil
	for _, n := range nodes.Items {
		if st, ok := v1alpha1.FindNodeProfileState(n.Status.Profiles, name); ok {
			switch {
			case st.State == v1alpha1.InstallStateInstalled && hash != "" && (st.ContentHash == hash || otherHash != "" && st.ContentHash == otherHash):
				status.NodesInstalled++
			case st.State == v1alpha1.InstallStateFailed:
				status.FailedNodes = append(status.FailedNodes, v1alpha1.NodeFailure{Node: n.Name, Reason: st.Reason, Message: st.Message})
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
		c.Message += fmt.Sprintf("; failed on %d", len(status.FailedNodes)) + reasonCounts(status.FailedNodes)
	case status.NodesTotal > 0 && status.NodesInstalled == status.NodesTotal:
		c.Status, c.Reason = metav1.ConditionTrue, "Installed"
	}
	meta.SetStatusCondition(&status.Conditions, c)
	return nil
}

// reasonCounts says how many failed nodes gave each reason, e.g.
// " (SeccompFlagsNotSupported: 2, Refused: 1)", most frequent first.
func reasonCounts(failed []v1alpha1.NodeFailure) string {
	n := map[string]int{}
	for _, f := range failed {
		if f.Reason != "" {
			n[f.Reason]++
		}
	}
	if len(n) == 0 {
		return ""
	}
	reasons := make([]string, 0, len(n))
	for r := range n {
		reasons = append(reasons, r)
	}
	sort.Slice(reasons, func(i, j int) bool {
		if n[reasons[i]] != n[reasons[j]] {
			return n[reasons[i]] > n[reasons[j]]
		}
		return reasons[i] < reasons[j]
	})
	parts := make([]string, len(reasons))
	for k, r := range reasons {
		parts[k] = fmt.Sprintf("%s: %d", r, n[r])
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

// BaseLookup reads base profiles through a controller-runtime reader (the
// manager's cache), for render.Prepare and render.Flatten.
func BaseLookup(c client.Reader) render.Lookup {
	return func(ctx context.Context, name string) (*v1alpha1.SeccompProfile, error) {
		var sp v1alpha1.SeccompProfile
		if err := c.Get(ctx, client.ObjectKey{Name: name}, &sp); err != nil {
			return nil, err
		}
		return &sp, nil
	}
}
