package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// maxMessage is the CRD's bound on a node state message.
const maxMessage = 1024

// DefaultMinStatusInterval bounds how often an agent rewrites its node state
// while profiles keep changing: a bulk apply of 1000 profiles then costs a
// handful of writes per node, not one per profile.
const DefaultMinStatusInterval = time.Second

// DefaultBatchDelay: see NodeReconciler.BatchDelay.
const DefaultBatchDelay = 250 * time.Millisecond

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompnodestatuses,verbs=get;list;watch;create;update;patch
// +kubebuilder:rbac:groups="",resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=nodes,verbs=get

// NodeReconciler keeps one node's profile files equal to the cluster's
// SeccompProfiles and reports the outcome in the node's SeccompNodeStatus.
//
// It is level-triggered with a single key (the node): every event (a profile,
// a pod on the node, the node state, a file changed on disk) leads to one full
// pass that computes the desired files and lets Installer.Sync converge the
// disk. The workqueue folds a burst of events into one pass; rendering is
// memoized per profile version, so a pass over unchanged profiles only
// compares files.
type NodeReconciler struct {
	// Client reads profiles, pods and the node state from the manager's
	// cache (which the caller scopes to this node's pods and state) and
	// writes the node state.
	Client client.Client
	// APIReader reads the Node object uncached (one Get when the node
	// state is created), so the agent needs no watch on every node.
	APIReader client.Reader
	Installer *Installer
	NodeName  string
	// Family is the node's architecture family (e.g. "x86_64"): profiles
	// are compiled for it before they are installed.
	Family string
	// MinStatusInterval: see DefaultMinStatusInterval (0 means that).
	MinStatusInterval time.Duration
	// BatchDelay is how long a pass waits after the first event of a burst
	// (DefaultBatchDelay when 0): 1000 profiles created together then cost
	// a few passes, not 1000.
	BatchDelay time.Duration
	Log        logr.Logger

	mu        sync.Mutex
	prepared  map[string]preparedEntry
	lastWrite time.Time
	trigger   chan event.GenericEvent
	// written is the list the agent last wrote, writtenRV the version the
	// apiserver returned for it, previous the list that was stored before.
	written, previous []v1alpha1.NodeProfileState
	writtenRV         string
}

type preparedEntry struct {
	key  string // the resource versions of the profile and its bases
	prep render.Prepared
}

// SetupWithManager registers the reconciler, the file watch (drift repair
// within seconds, and a full resync every resync as a safety net) and a first
// pass at start.
func (r *NodeReconciler) SetupWithManager(mgr ctrl.Manager, resync time.Duration) error {
	if r.MinStatusInterval == 0 {
		r.MinStatusInterval = DefaultMinStatusInterval
	}
	if r.BatchDelay == 0 {
		r.BatchDelay = DefaultBatchDelay
	}
	r.prepared = map[string]preparedEntry{}
	r.trigger = make(chan event.GenericEvent, 1)
	r.Trigger() // first pass, even with no profiles: it creates the node state
	// Every event asks for the one pass of this node, a little later: the
	// delaying queue keeps a single pending entry, so a burst is one pass.
	later := func(q workqueue.TypedRateLimitingInterface[reconcile.Request]) { q.AddAfter(r.request(), r.BatchDelay) }
	toNode := handler.Funcs{
		CreateFunc: func(_ context.Context, _ event.CreateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(q)
		},
		UpdateFunc: func(_ context.Context, _ event.UpdateEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(q)
		},
		DeleteFunc: func(_ context.Context, _ event.DeleteEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
			later(q)
		},
	}
	if err := mgr.Add(manager.RunnableFunc(func(ctx context.Context) error {
		return r.Installer.Watch(ctx, resync, r.Trigger)
	})); err != nil {
		return fmt.Errorf("add file watch: %w", err)
	}
	return ctrl.NewControllerManagedBy(mgr).
		Named("node").
		// The manager writes each profile's status as nodes install it;
		// those writes change nothing on a node, so only spec (generation)
		// and label changes, creations and deletions start a pass.
		Watches(&v1alpha1.SeccompProfile{}, toNode, builder.WithPredicates(
			predicate.Or(predicate.GenerationChangedPredicate{}, predicate.LabelChangedPredicate{}))).
		Watches(&corev1.Pod{}, toNode).
		Watches(&v1alpha1.SeccompNodeStatus{}, toNode).
		// A single key: the default per-item backoff (up to 1000 s) would
		// leave a node unrepaired for minutes after a few failures.
		WithOptions(controller.Options{RateLimiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](100*time.Millisecond, 30*time.Second)}).
		WatchesRawSource(source.Channel(r.trigger, handler.Funcs{
			GenericFunc: func(_ context.Context, _ event.GenericEvent, q workqueue.TypedRateLimitingInterface[reconcile.Request]) {
				q.Add(r.request())
			},
		})).
		Complete(r)
}

// Trigger asks for a pass (used by the file watch). It never blocks: one
// pending trigger is enough.
func (r *NodeReconciler) Trigger() {
	select {
	case r.trigger <- event.GenericEvent{Object: &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: r.NodeName}}}:
	default:
	}
}

func (r *NodeReconciler) request() reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Name: r.NodeName}}
}

// Reconcile makes one full pass for the node.
func (r *NodeReconciler) Reconcile(ctx context.Context, _ reconcile.Request) (ctrl.Result, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	defer func() { syncSeconds.Observe(time.Since(start).Seconds()) }()

	var list v1alpha1.SeccompProfileList
	// Read-only use of cached objects: no copy of 1000 profiles per pass.
	if err := r.Client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("list profiles: %w", err)
	}
	byName := make(map[string]*v1alpha1.SeccompProfile, len(list.Items))
	for i := range list.Items {
		byName[list.Items[i].Name] = &list.Items[i]
	}

	desired := map[string][]byte{}
	keep := map[string]bool{}        // files of profiles now refused: keep the last good version
	owner := map[string]string{}     // rel path -> profile name
	pathsOf := map[string][]string{} // profile name -> its rel paths
	var states []v1alpha1.NodeProfileState
	for name, sp := range byName {
		if sp.Spec.Disabled {
			continue
		}
		paths := profilePaths(sp)
		pathsOf[name] = paths
		for _, p := range paths {
			owner[p] = name
		}
		prep, err := r.prepare(ctx, sp, byName)
		if err != nil {
			return ctrl.Result{}, err
		}
		if prep.Problem != "" {
			for _, p := range paths {
				keep[p] = true
			}
			states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateFailed,
				Message: truncate("refused, not installed: " + prep.Problem)})
			continue
		}
		for _, p := range paths {
			desired[p] = prep.Content
		}
		states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateInstalled, ContentHash: prep.Hash})
	}

	for name := range r.prepared {
		if _, ok := byName[name]; !ok {
			delete(r.prepared, name)
		}
	}

	inUse, err := r.inUse(ctx)
	if err != nil {
		return ctrl.Result{}, err
	}
	res, syncErr := r.Installer.Sync(desired, func(rel string) bool { return keep[rel] || inUse[rel] != "" })
	fileWrites.WithLabelValues("install").Add(float64(len(res.Installed)))
	fileWrites.WithLabelValues("remove").Add(float64(len(res.Removed)))
	if len(res.Installed) > 0 || len(res.Removed) > 0 {
		r.Log.V(1).Info("synced profile files", "installed", len(res.Installed), "removed", len(res.Removed), "deferred", len(res.Deferred))
	}

	for k := range states {
		st := &states[k]
		if st.State != v1alpha1.InstallStateInstalled {
			continue
		}
		for _, p := range pathsOf[st.Name] {
			if ferr := res.Failed[p]; ferr != nil {
				st.State, st.ContentHash, st.Message = v1alpha1.InstallStateFailed, "", truncate(ferr.Error())
				break
			}
		}
	}
	// Files kept for running pods after their profile was deleted or
	// disabled. (A profile that still has an entry, e.g. a predefined one
	// whose alias path alone is no longer wanted, keeps that entry: one
	// entry per name.)
	listed := make(map[string]bool, len(states))
	for _, st := range states {
		listed[st.Name] = true
	}
	removing := map[string]string{}
	for _, rel := range res.Deferred {
		if keep[rel] {
			continue
		}
		name, ok := owner[rel]
		if !ok {
			name, ok = nameOfPath(rel)
		}
		if ok && !listed[name] && removing[name] == "" {
			removing[name] = fmt.Sprintf("deleted or disabled, but %s still references %s", inUse[rel], rel)
		}
	}
	for name, msg := range removing {
		states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateRemoving, Message: truncate(msg)})
	}
	slices.SortFunc(states, func(a, b v1alpha1.NodeProfileState) int { return strings.Compare(a.Name, b.Name) })
	setProfileGauge(states)

	result, werr := r.writeState(ctx, states)
	if syncErr != nil {
		// Retried with backoff; the state already says which files failed.
		return ctrl.Result{}, fmt.Errorf("sync profile files: %w", syncErr)
	}
	return result, werr
}

// prepare renders sp for this node, memoized by the resource versions of sp
// and its bases: a pass over unchanged profiles compiles nothing.
func (r *NodeReconciler) prepare(ctx context.Context, sp *v1alpha1.SeccompProfile, byName map[string]*v1alpha1.SeccompProfile) (render.Prepared, error) {
	key := chainKey(sp, byName)
	if e, ok := r.prepared[sp.Name]; ok && e.key == key {
		return e.prep, nil
	}
	prep, err := render.Prepare(ctx, mapReader(byName), sp, []string{r.Family})
	if err != nil {
		return render.Prepared{}, fmt.Errorf("prepare profile %s: %w", sp.Name, err)
	}
	r.prepared[sp.Name] = preparedEntry{key: key, prep: prep}
	return prep, nil
}

// chainKey identifies a profile's rendered content: its version and those of
// its bases, up to a cycle or a missing base (which then re-renders when
// the base appears).
func chainKey(sp *v1alpha1.SeccompProfile, byName map[string]*v1alpha1.SeccompProfile) string {
	var b strings.Builder
	seen := map[string]bool{}
	for cur := sp; ; {
		b.WriteString(cur.Name + "@" + cur.ResourceVersion + "/")
		seen[cur.Name] = true
		base := cur.Spec.BaseProfileName
		if base == "" || seen[base] {
			return b.String()
		}
		next, ok := byName[base]
		if !ok {
			return b.String() + base + "@missing"
		}
		cur = next
	}
}

// inUse maps each localhost profile path referenced by a pod on this node
// that has not terminated to one such pod ("namespace/name").
func (r *NodeReconciler) inUse(ctx context.Context) (map[string]string, error) {
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.UnsafeDisableDeepCopy); err != nil {
		return nil, fmt.Errorf("list pods: %w", err)
	}
	out := map[string]string{}
	for i := range pods.Items {
		p := &pods.Items[i]
		// The cache is scoped to this node; the check keeps a wider cache
		// (a misconfiguration) from pinning other nodes' files here.
		if p.Spec.NodeName != r.NodeName || podprofile.Terminated(p) {
			continue
		}
		for _, rel := range podprofile.LocalhostPaths(p) {
			if out[rel] == "" {
				out[rel] = "pod " + p.Namespace + "/" + p.Name
			}
		}
	}
	return out, nil
}

// writeState creates or updates the node's state when it differs from what
// is stored, at most once per MinStatusInterval.
//
// What the agent wrote last is remembered: right after a write the cache
// still holds the previous version for a while (longer on a busy
// apiserver), and comparing with it would write the same state again.
// Writes are merge patches without a resourceVersion precondition, since the
// agent is the only writer and always sends the whole list; an update
// against a stale cache would only fail with a conflict and back off.
func (r *NodeReconciler) writeState(ctx context.Context, states []v1alpha1.NodeProfileState) (ctrl.Result, error) {
	// A list, not a Get: the cache holds only this node's state, and a
	// list can skip copying its 1000 entries (read-only use below).
	var list v1alpha1.SeccompNodeStatusList
	if err := r.Client.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		return ctrl.Result{}, fmt.Errorf("read node state %s: %w", r.NodeName, err)
	}
	var cur *v1alpha1.SeccompNodeStatus
	for k := range list.Items {
		if list.Items[k].Name == r.NodeName {
			cur = &list.Items[k]
		}
	}
	exists := cur != nil
	var stored []v1alpha1.NodeProfileState
	if exists {
		stored = cur.Status.Profiles
	}
	if exists && r.written != nil && cur.ResourceVersion != r.writtenRV && sameStates(cur.Status.Profiles, r.previous) {
		// The cache still holds what was there before our last write:
		// compare with what we wrote. (A change by anyone else shows a
		// different content, which is then compared and overwritten.)
		stored = r.written
	}
	now := metav1.Now().Rfc3339Copy() // the precision the apiserver stores
	for k := range states {
		if old, ok := v1alpha1.FindNodeProfileState(stored, states[k].Name); ok &&
			old.State == states[k].State && old.ContentHash == states[k].ContentHash && old.Message == states[k].Message {
			states[k].LastTransitionTime = old.LastTransitionTime
		} else {
			states[k].LastTransitionTime = now
		}
	}
	if exists && sameStates(stored, states) {
		return ctrl.Result{}, nil // nothing changed: no write
	}
	if wait := r.MinStatusInterval - time.Since(r.lastWrite); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	obj := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: r.NodeName}, Status: v1alpha1.NodeState{Profiles: states}}
	var err error
	if !exists {
		// Absent from the cache: deleted (recreate it), or created by us
		// so recently that the cache has not seen it (then the create
		// fails and the list is patched instead).
		r.setOwner(ctx, obj)
		err = r.Client.Create(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			err = r.patchState(ctx, obj, states)
		}
	} else {
		err = r.patchState(ctx, obj, states)
	}
	if err != nil {
		return ctrl.Result{}, fmt.Errorf("write node state %s: %w", r.NodeName, err)
	}
	r.previous, r.written, r.writtenRV = stored, states, obj.ResourceVersion
	r.lastWrite = time.Now()
	statusWrites.Inc()
	return ctrl.Result{}, nil
}

// sameStates compares two lists entry by entry (the apiserver stores times
// in whole seconds, so times compare at that precision).
func sameStates(a, b []v1alpha1.NodeProfileState) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		x, y := &a[k], &b[k]
		if x.Name != y.Name || x.State != y.State || x.ContentHash != y.ContentHash || x.Message != y.Message ||
			!x.LastTransitionTime.Equal(&y.LastTransitionTime) {
			return false
		}
	}
	return true
}

// patchState replaces the node state's list with a merge patch; obj receives
// the stored object.
func (r *NodeReconciler) patchState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus, states []v1alpha1.NodeProfileState) error {
	body, err := json.Marshal(map[string]any{"status": map[string]any{"profiles": states}})
	if err != nil {
		return err
	}
	return r.Client.Patch(ctx, obj, client.RawPatch(types.MergePatchType, body))
}

// setOwner makes the Node own its state, so the garbage collector removes
// the state of a node that leaves the cluster. Without a Node object (a
// simulated node) the state simply has no owner.
func (r *NodeReconciler) setOwner(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) {
	if r.APIReader == nil {
		return
	}
	var node corev1.Node
	if err := r.APIReader.Get(ctx, types.NamespacedName{Name: r.NodeName}, &node); err != nil {
		if !apierrors.IsNotFound(err) {
			r.Log.Info("cannot read the Node; its state gets no owner", "error", err.Error())
		}
		return
	}
	obj.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
}

// profilePaths lists the files a profile is installed at: operator/<name>.json,
// and for the manager's predefined profiles also their predefined path.
func profilePaths(sp *v1alpha1.SeccompProfile) []string {
	paths := []string{nodepath.ProfilePath(sp.Name)}
	if sp.Labels[v1alpha1.LabelPredefined] == "true" {
		if p, ok := predefined.Get(sp.Name); ok && p.Name == sp.Name {
			paths = append(paths, nodepath.PredefinedAliasPath(p.File))
		}
	}
	return paths
}

// nameOfPath maps an installed path back to its profile's name.
func nameOfPath(rel string) (string, bool) {
	if name, ok := nodepath.NameOf(rel); ok {
		return name, true
	}
	if file, ok := strings.CutPrefix(rel, nodepath.PredefinedDir+"/"); ok {
		if p, ok := predefined.Get(file); ok {
			return p.Name, true
		}
	}
	return "", false
}

func truncate(s string) string {
	if len(s) <= maxMessage {
		return s
	}
	cut := maxMessage - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// mapReader serves Flatten's base lookups from the pass's profile list.
type mapReader map[string]*v1alpha1.SeccompProfile

func (m mapReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	sp, ok := m[key.Name]
	if !ok {
		return apierrors.NewNotFound(v1alpha1.GroupVersion.WithResource("seccompprofiles").GroupResource(), key.Name)
	}
	out, ok := obj.(*v1alpha1.SeccompProfile)
	if !ok {
		return fmt.Errorf("mapReader: unexpected %T", obj)
	}
	sp.DeepCopyInto(out)
	return nil
}

func (m mapReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return fmt.Errorf("mapReader: List is not supported")
}
