package agent

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// maxMessage is the CRD's bound on a node state message.
const maxMessage = 1024

// DefaultMinStatusInterval bounds how often an agent rewrites its node state
// while profiles keep changing: a bulk apply of 1000 profiles then costs a
// handful of writes per node, not one per profile.
const DefaultMinStatusInterval = time.Second

// statusEntriesPerInterval spaces a node's state writes by one
// MinStatusInterval per this many entries (at least one interval): every
// write carries the whole list, about 100 bytes an entry, and the apiserver
// pays for a write in proportion (decode, schema validation, storage, and a
// watch event, encoded anew, to each reader). In the 100-node benchmark,
// runs whose agents wrote ~9 times per node during a 1000-profile rollout
// used about twice the apiserver CPU of runs with ~5, and the apiserver's
// CPU is what every create and every watch waits for (docs/benchmarks.md
// §4): at 1000 profiles a node writes at most every 10 s during a burst. A
// single change on a quiet node is still written at once.
const statusEntriesPerInterval = 100

// DefaultBatchDelay: see NodeReconciler.BatchDelay.
const DefaultBatchDelay = 250 * time.Millisecond

// DefaultPassInterval: see NodeReconciler.PassInterval.
const DefaultPassInterval = time.Second

// passSpacing: see NodeReconciler.PassInterval.
const passSpacing = 4

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles,verbs=get;list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompnodestatuses,verbs=get;list;watch;create;update;patch
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
	// Cluster serves profiles, the node's pods and its state from watch
	// caches, and writes the state.
	Cluster   Cluster
	Installer *Installer
	NodeName  string
	// Family is the node's architecture family (e.g. "x86_64"): profiles
	// are compiled for it before they are installed.
	Family string
	// SeccompFlags is whether the node's container runtime accepts a
	// profile's seccomp flags (cmd/agent: --runtime-seccomp-flags). A
	// profile with flags is installed only where it is Supported; the zero
	// value is treated as unknown, so not installed. Where it is not
	// Supported, profiles are installed without the SECCOMP_FILTER_FLAG_LOG
	// the operator adds (render.LogDenials), and the node state's runtime
	// says that their denials leave no audit record.
	SeccompFlags runtimeflags.Detection
	// MinStatusInterval: see DefaultMinStatusInterval (0 means that); the
	// spacing grows with the size of the state (statusEntriesPerInterval).
	MinStatusInterval time.Duration
	// BatchDelay is how long a pass waits after the first event of a burst
	// (DefaultBatchDelay when 0): 1000 profiles created together then cost
	// a few passes, not 1000.
	BatchDelay time.Duration
	// PassInterval bounds the spacing of passes that cluster events ask
	// for (DefaultPassInterval when 0): the next starts passSpacing times
	// the last one's duration after it started, at most PassInterval
	// later. A pass costs ~1 ms over 1000 unchanged profiles before it
	// renders anything new; during a rollout events come every few
	// milliseconds, and on a CPU-starved node (the 100-node benchmark,
	// docs/benchmarks.md section 4), where that pass takes a few hundred
	// milliseconds of wall time, passes back to back made an agent's CPU
	// 1.5 times what it needs. On a node with CPU to spare passes take
	// milliseconds and only BatchDelay applies. A repair of a file
	// changed on disk does not wait.
	PassInterval time.Duration
	// AfterPass, if set, runs after every pass (cmd/agent adjusts the
	// memory limit there: AutoMemoryLimit).
	AfterPass func()
	Log       logr.Logger

	// mu serializes files passes (prepared, passRenders, the installer);
	// stateMu node-state writes (the fields from lastWrite to ownRVs).
	// They are separate so that files keep being installed while a write
	// waits for a busy apiserver (seconds, in the 100-node benchmark).
	mu          sync.Mutex
	maps        passMaps
	prepared    map[string]preparedEntry
	paths       map[string]pathsEntry // pathsOf
	passRenders int                   // profiles rendered in the current pass (for the log)
	dryRun      dryRun                // the node's dry-run profile (dryrun.go)
	trigger     func()
	// lastPass is when the latest files pass started (Unix nanoseconds)
	// and lastPassDur how long it took; read by the event handlers.
	lastPass, lastPassDur atomic.Int64

	// pending is the state of the latest files pass, not written yet
	// (pendingSeq counts the passes that set it).
	pendingMu  sync.Mutex
	pending    []v1alpha1.NodeProfileState
	pendingSeq uint64

	stateMu   sync.Mutex
	lastWrite time.Time
	// written is the list the agent last wrote, writtenRV the version the
	// apiserver returned for it, previous the list that was stored before.
	written, previous []v1alpha1.NodeProfileState
	writtenRV         string
	// wroteRuntime is the runtime state the agent's last write carried.
	wroteRuntime *v1alpha1.NodeRuntime
	// ownRVs are the versions of the agent's recent writes: a cache that
	// holds one of them, but not the last, lags behind the agent's own
	// writes (several at once on a busy apiserver).
	ownRVs []string
}

// passMaps are a files pass's working maps, emptied after each pass and
// kept for the next: at 1000 profiles, making them anew was half of what a
// pass allocated, and a rollout runs a pass every few hundred milliseconds.
type passMaps struct {
	byName  map[string]*v1alpha1.SeccompProfile
	desired map[string]File
	keep    map[string]bool
	owner   map[string]string // rel path -> profile name
}

// clear empties the maps (keeping their storage), so that they pin no
// profile between passes; the first call makes them.
func (m *passMaps) clear() {
	if m.byName == nil {
		m.byName, m.desired, m.keep, m.owner = map[string]*v1alpha1.SeccompProfile{}, map[string]File{}, map[string]bool{}, map[string]string{}
		return
	}
	clear(m.byName)
	clear(m.desired)
	clear(m.keep)
	clear(m.owner)
}

// ownRVsKept bounds NodeReconciler.ownRVs.
const ownRVsKept = 8

// preparedEntry is what a node keeps of a rendered profile: the digest of
// its content, or why it cannot be installed. The content itself is kept
// only until the pass that rendered it has written it (about 5 KiB per
// profile, 5 MiB at 1000 profiles, on every node); a later rewrite renders
// it again.
type preparedEntry struct {
	key string // chainKey: the spec versions of the profile and its bases
	// uid and gen are the profile's own spec version, enough to know a
	// profile without a base unchanged without building its key.
	uid     types.UID
	gen     int64
	hash    string // render.Hash of the content
	problem string
	flags   []string // seccomp flags of the flattened profile
	size    int
	sum     [sha256.Size]byte
	content []byte // nil once written
}

// Reconcile makes one full pass for the node: its files, then its state.
// It returns how long to wait before the next pass when the node state
// could not be written yet (the minimum interval between writes), else 0.
// (Run does the two halves on their own, so that a slow state write never
// holds up files: syncFiles and writePending.)
func (r *NodeReconciler) Reconcile(ctx context.Context) (time.Duration, error) {
	states, syncErr := r.syncFiles(ctx)
	if states == nil {
		return 0, syncErr
	}
	r.setPending(states)
	after, werr := r.writePending(ctx)
	if syncErr != nil {
		return 0, syncErr
	}
	return after, werr
}

// syncFiles converges the node's files on the profiles and returns the
// node state that results, nil when it could not be computed (err says
// why). A non-nil state comes with err when some files failed: the state
// says which.
func (r *NodeReconciler) syncFiles(ctx context.Context) ([]v1alpha1.NodeProfileState, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	start := time.Now()
	defer func() { syncSeconds.Observe(time.Since(start).Seconds()) }()

	// Read-only use of cached objects: no copy of 1000 profiles per pass.
	// In name order, so that the states come out sorted: sorting the
	// pointers costs less than sorting the states (~120 bytes each).
	profiles := r.Cluster.Profiles()
	slices.SortFunc(profiles, func(a, b *v1alpha1.SeccompProfile) int { return strings.Compare(a.Name, b.Name) })
	m := &r.maps
	if m.byName == nil {
		m.clear() // makes them
	}
	defer m.clear()
	byName := m.byName
	for _, sp := range profiles {
		byName[sp.Name] = sp
	}
	desired := m.desired
	keep := m.keep   // files of profiles now refused: keep the last good version
	owner := m.owner // rel path -> profile name
	states := make([]v1alpha1.NodeProfileState, 0, len(byName))
	for _, sp := range profiles {
		name := sp.Name
		if sp.Spec.Disabled {
			continue
		}
		paths := r.pathsOf(sp)
		for _, p := range paths {
			owner[p] = name
		}
		prep, err := r.prepare(ctx, sp, byName)
		if err != nil {
			return nil, err
		}
		if prep.problem != "" {
			for _, p := range paths {
				keep[p] = true
			}
			states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateFailed,
				Reason: v1alpha1.NodeReasonRefused, Message: truncate("refused, not installed: " + prep.problem)})
			continue
		}
		if len(prep.flags) > 0 && r.SeccompFlags.Support != runtimeflags.Supported {
			// Every pod using it would fail to start here: keep the
			// last good file, as for a refused profile, and say why.
			for _, p := range paths {
				keep[p] = true
			}
			states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateFailed,
				Reason: v1alpha1.NodeReasonSeccompFlags, Message: truncate(runtimeflags.NodeMessage(prep.flags, r.SeccompFlags))})
			continue
		}
		f := File{Size: prep.size, Sum: prep.sum, Content: r.contentOf(ctx, sp, byName)}
		for _, p := range paths {
			desired[p] = f
		}
		states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateInstalled, ContentHash: prep.hash})
	}

	gone := func(name string) bool { _, ok := byName[name]; return !ok }
	maps.DeleteFunc(r.prepared, func(name string, _ preparedEntry) bool { return gone(name) })
	maps.DeleteFunc(r.paths, func(name string, _ pathsEntry) bool { return gone(name) })

	r.addDryRun(ctx, desired)
	inUse := r.inUse()
	res, syncErr := r.Installer.SyncFiles(desired, func(rel string) bool { return keep[rel] || inUse[rel] != "" })
	r.dryRun.synced(res)
	for name, e := range r.prepared {
		if e.content != nil {
			e.content = nil // written (or to be rendered again for the retry)
			r.prepared[name] = e
		}
	}
	fileWrites.WithLabelValues("install").Add(float64(len(res.Installed)))
	fileWrites.WithLabelValues("remove").Add(float64(len(res.Removed)))
	if len(res.Installed) > 0 || len(res.Removed) > 0 || r.passRenders > 0 {
		r.Log.V(1).Info("synced profile files", "profiles", len(byName), "rendered", r.passRenders,
			"installed", len(res.Installed), "removed", len(res.Removed), "deferred", len(res.Deferred))
	}
	r.passRenders = 0

	for k := range states {
		st := &states[k]
		if st.State != v1alpha1.InstallStateInstalled {
			continue
		}
		for _, p := range r.paths[st.Name].paths { // this pass's pathsOf
			if ferr := res.Failed[p]; ferr != nil {
				st.State, st.ContentHash, st.Reason, st.Message = v1alpha1.InstallStateFailed, "", v1alpha1.NodeReasonWriteFailed, truncate(ferr.Error())
				break
			}
			// A pod naming this path would run another's profile.
			if ferr := res.Foreign[p]; ferr != nil {
				st.State, st.ContentHash, st.Reason, st.Message = v1alpha1.InstallStateFailed, "", v1alpha1.NodeReasonForeignFile, truncate(ferr.Error())
				break
			}
		}
	}
	// Files kept for running pods after their profile was deleted or
	// disabled. (A profile that still has an entry, e.g. a predefined one
	// whose alias path alone is no longer wanted, keeps that entry: one
	// entry per name.)
	removing := map[string]string{}
	for _, rel := range res.Deferred {
		if keep[rel] {
			continue
		}
		name, ok := owner[rel]
		if !ok {
			name, ok = nameOfPath(rel)
		}
		if ok && !hasState(states, name) && removing[name] == "" {
			removing[name] = fmt.Sprintf("deleted or disabled, but %s still references %s", inUse[rel], rel)
		}
	}
	for name, msg := range removing {
		states = append(states, v1alpha1.NodeProfileState{Name: name, State: v1alpha1.InstallStateRemoving, Reason: v1alpha1.NodeReasonInUse, Message: truncate(msg)})
	}
	if len(removing) > 0 {
		slices.SortFunc(states, func(a, b v1alpha1.NodeProfileState) int { return strings.Compare(a.Name, b.Name) })
	}
	setProfileGauge(states)
	if syncErr != nil {
		// Retried with backoff; the state says which files failed.
		return states, fmt.Errorf("sync profile files: %w", syncErr)
	}
	return states, nil
}

// setPending hands the state of a files pass to the state writer; a newer
// state replaces one not written yet.
func (r *NodeReconciler) setPending(states []v1alpha1.NodeProfileState) {
	r.pendingMu.Lock()
	defer r.pendingMu.Unlock()
	r.pending = states
	r.pendingSeq++
}

// writePending writes the latest state of a files pass, if any, as
// writeState does. The state stays pending until written (or found
// unchanged), so a wait or an error leaves it for the next try. It is
// passed without a copy: setPending only ever replaces the slice, and
// writeState sets every entry's time on each try.
func (r *NodeReconciler) writePending(ctx context.Context) (time.Duration, error) {
	r.pendingMu.Lock()
	states, seq := r.pending, r.pendingSeq
	r.pendingMu.Unlock()
	if states == nil {
		return 0, nil
	}
	r.stateMu.Lock()
	after, err := r.writeState(ctx, states)
	r.stateMu.Unlock()
	if err != nil || after > 0 {
		return after, err
	}
	r.pendingMu.Lock()
	if r.pendingSeq == seq {
		r.pending = nil
	}
	r.pendingMu.Unlock()
	return 0, nil
}

// prepare renders sp for this node, memoized by the spec versions of sp and
// its bases: a pass over unchanged profiles compiles nothing.
func (r *NodeReconciler) prepare(ctx context.Context, sp *v1alpha1.SeccompProfile, byName map[string]*v1alpha1.SeccompProfile) (preparedEntry, error) {
	e, ok := r.prepared[sp.Name]
	if ok && sp.Spec.BaseProfileName == "" && e.uid == sp.UID && e.gen == sp.Generation {
		// No base, and the same spec version (so no base then either):
		// the key would be the same, no need to build it.
		return e, nil
	}
	key := chainKey(sp, byName)
	if ok && e.key == key {
		return e, nil
	}
	renders.Inc()
	r.passRenders++
	prep, err := render.PrepareNode(ctx, render.MapLookup(byName), sp, []string{r.Family}, r.SeccompFlags.Takes())
	if err != nil {
		return preparedEntry{}, fmt.Errorf("prepare profile %s: %w", sp.Name, err)
	}
	e = preparedEntry{key: key, uid: sp.UID, gen: sp.Generation, hash: prep.Hash, problem: prep.Problem, flags: prep.Flags, size: len(prep.Content), sum: prep.Sum, content: prep.Content}
	r.prepared[sp.Name] = e
	return e, nil
}

// contentOf gives sp's content for a write: the bytes prepare rendered in
// this pass, or else rendered again from the same versions (byName is the
// pass's own list, so the digest still matches).
func (r *NodeReconciler) contentOf(ctx context.Context, sp *v1alpha1.SeccompProfile, byName map[string]*v1alpha1.SeccompProfile) func() ([]byte, error) {
	if e := r.prepared[sp.Name]; e.content != nil {
		content := e.content
		return func() ([]byte, error) { return content, nil }
	}
	return func() ([]byte, error) {
		b, err := render.Content(ctx, render.MapLookup(byName), sp, r.SeccompFlags.Takes())
		if err != nil {
			return nil, fmt.Errorf("render profile %s again: %w", sp.Name, err)
		}
		return b, nil
	}
}

// chainKey identifies a profile's rendered content: the spec version
// (object UID and generation) of the profile and of its bases, up to a cycle
// or a missing base (which then re-renders when the base appears). Not the
// resource version: the manager's status writes change that on every
// profile as nodes report, and rendering reads only the spec.
func chainKey(sp *v1alpha1.SeccompProfile, byName map[string]*v1alpha1.SeccompProfile) string {
	var b strings.Builder
	seen := map[string]bool{}
	for cur := sp; ; {
		b.WriteString(cur.Name + "@" + string(cur.UID) + ":" + strconv.FormatInt(cur.Generation, 10) + "/")
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
func (r *NodeReconciler) inUse() map[string]string {
	out := map[string]string{}
	for _, p := range r.Cluster.Pods() {
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
	return out
}

// statusInterval is the least time between two writes of a node state of
// the given number of entries.
func (r *NodeReconciler) statusInterval(entries int) time.Duration {
	return r.MinStatusInterval * time.Duration(max(1, (entries+statusEntriesPerInterval-1)/statusEntriesPerInterval))
}

// writeState creates or updates the node's state when it differs from what
// is stored, at most once per statusInterval.
//
// What the agent wrote last is remembered: right after a write the cache
// still holds the previous version for a while (longer on a busy
// apiserver), and comparing with it would write the same state again.
//
// A write is an update (PUT) at the resource version the agent last wrote
// or saw: the agent is the only writer and always sends the whole list, and
// an update spares the apiserver what a merge patch costs it on a ~150 KB
// object (encoding the stored object, merging, decoding the result: about
// half of its work per write in the 100-node benchmark). If anyone else
// wrote in between, the update conflicts and the list is written with a
// merge patch instead, which needs no precondition and keeps their fields.
func (r *NodeReconciler) writeState(ctx context.Context, states []v1alpha1.NodeProfileState) (time.Duration, error) {
	cur := r.Cluster.NodeState() // read-only
	exists := cur != nil
	var stored []v1alpha1.NodeProfileState
	var rv string
	if exists {
		stored, rv = cur.Status.Profiles, cur.ResourceVersion
	}
	if exists && r.written != nil && cur.ResourceVersion != r.writtenRV &&
		(sameStates(cur.Status.Profiles, r.previous) || slices.Contains(r.ownRVs, cur.ResourceVersion)) {
		// The cache still holds what was there before our last write, or
		// an earlier write of ours: compare with what we wrote. (A change
		// by anyone else shows a different content, which is then
		// compared and overwritten.)
		stored, rv = r.written, r.writtenRV
	}
	now := metav1.Now().Rfc3339Copy() // the precision the apiserver stores
	for k := range states {
		if old, ok := v1alpha1.FindNodeProfileState(stored, states[k].Name); ok &&
			sameEntry(&old, &states[k]) {
			states[k].LastTransitionTime = old.LastTransitionTime
		} else {
			states[k].LastTransitionTime = now
		}
	}
	rt := r.runtimeState()
	// A cache lagging behind our writes (stored is r.written) shows the
	// runtime state we last wrote soon: compare with that. (It changes
	// when the dry-run profile does, dryrun.go.)
	sameRuntime := exists && (sameRuntimeState(cur.Status.Runtime, rt) || r.written != nil && sameRuntimeState(r.wroteRuntime, rt) && rv == r.writtenRV)
	if exists && sameStates(stored, states) && sameRuntime {
		return 0, nil // nothing changed: no write
	}
	if wait := r.statusInterval(len(states)) - time.Since(r.lastWrite); wait > 0 {
		return wait, nil
	}
	var (
		saved string
		err   error
	)
	if !exists {
		// Absent from the cache: deleted (recreate it), or created by us
		// so recently that the cache has not seen it (then the create
		// fails and the list is patched instead).
		obj := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: r.NodeName}, Status: v1alpha1.NodeState{Profiles: states, Runtime: rt}}
		r.setOwner(ctx, obj)
		saved, err = r.Cluster.CreateNodeState(ctx, obj)
		if apierrors.IsAlreadyExists(err) {
			saved, err = r.patchState(ctx, states)
		}
	} else {
		// The cached metadata, without managed fields (trimmed, and the
		// apiserver keeps the stored ones when an update sends none).
		// Containers, records and recordings belong to the observers (merge patches):
		// an update carries them as cached, and a conflict with a newer
		// patch falls back to patching the profiles alone.
		obj := &v1alpha1.SeccompNodeStatus{ObjectMeta: *cur.ObjectMeta.DeepCopy(),
			Status: v1alpha1.NodeState{Profiles: states, Runtime: rt}.WithObserved(cur.Status)}
		obj.ResourceVersion, obj.ManagedFields = rv, nil
		saved, err = r.Cluster.UpdateNodeState(ctx, obj)
		if apierrors.IsConflict(err) {
			saved, err = r.patchState(ctx, states)
		}
	}
	if err != nil {
		return 0, fmt.Errorf("write node state %s: %w", r.NodeName, err)
	}
	r.previous, r.written, r.writtenRV, r.wroteRuntime = stored, states, saved, rt
	if r.ownRVs = append(r.ownRVs, saved); len(r.ownRVs) > ownRVsKept {
		r.ownRVs = slices.Delete(r.ownRVs, 0, len(r.ownRVs)-ownRVsKept)
	}
	r.lastWrite = time.Now()
	statusWrites.Inc()
	return 0, nil
}

// sameStates compares two lists entry by entry (the apiserver stores times
// in whole seconds, so times compare at that precision).
func sameStates(a, b []v1alpha1.NodeProfileState) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		x, y := &a[k], &b[k]
		if x.Name != y.Name || !sameEntry(x, y) || !x.LastTransitionTime.Equal(&y.LastTransitionTime) {
			return false
		}
	}
	return true
}

// sameEntry reports whether two entries say the same (time aside).
func sameEntry(x, y *v1alpha1.NodeProfileState) bool {
	return x.State == y.State && x.ContentHash == y.ContentHash && x.Reason == y.Reason && x.Message == y.Message
}

// patchState replaces the node state's list (and its runtime) with a merge
// patch and returns the stored resource version.
func (r *NodeReconciler) patchState(ctx context.Context, states []v1alpha1.NodeProfileState) (string, error) {
	body, err := json.Marshal(map[string]any{"status": map[string]any{"profiles": states, "runtime": r.runtimeState()}})
	if err != nil {
		return "", err
	}
	return r.Cluster.PatchNodeState(ctx, body)
}

// setOwner makes the Node own its state, so the garbage collector removes
// the state of a node that leaves the cluster. Without a Node object (a
// simulated node) the state simply has no owner.
func (r *NodeReconciler) setOwner(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) {
	node, err := r.Cluster.Node(ctx)
	if err != nil {
		if !apierrors.IsNotFound(err) {
			r.Log.Info("cannot read the Node; its state gets no owner", "error", err.Error())
		}
		return
	}
	obj.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: node.Name, UID: node.UID}}
}

// hasState reports whether states, sorted by name, has an entry for name.
func hasState(states []v1alpha1.NodeProfileState, name string) bool {
	_, found := slices.BinarySearchFunc(states, name, func(st v1alpha1.NodeProfileState, name string) int { return strings.Compare(st.Name, name) })
	return found
}

// pathsOf is profilePaths(sp), kept from pass to pass (two allocations a
// profile and pass otherwise); the predefined label can change without a
// new generation, so it is part of what is kept.
func (r *NodeReconciler) pathsOf(sp *v1alpha1.SeccompProfile) []string {
	predef := sp.Labels[v1alpha1.LabelPredefined] == "true"
	if e, ok := r.paths[sp.Name]; ok && e.predef == predef {
		return e.paths
	}
	if r.paths == nil {
		r.paths = map[string]pathsEntry{}
	}
	paths := profilePaths(sp)
	r.paths[sp.Name] = pathsEntry{predef: predef, paths: paths}
	return paths
}

type pathsEntry struct {
	predef bool
	paths  []string
}

// profilePaths lists the files a profile is installed at: operator/<name>.json,
// and for the manager's predefined profiles also their predefined path.
func profilePaths(sp *v1alpha1.SeccompProfile) []string {
	rel, err := nodepath.ProfilePath(sp.Name)
	if err != nil {
		return nil // the apiserver admits no such name; install nothing
	}
	paths := []string{rel}
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
