package recorder

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Graces before a kernel entry is counted as unattributed: a new
// container's pod status names it a moment after it started; a process
// gone before the harvest may be followed by another of its namespace.
const (
	noPodGrace     = 10 * time.Second
	noProcessGrace = 5 * time.Second
	// findEvery spaces the /proc walks that look for a live process of an
	// entry whose Pid is gone.
	findEvery = 10 * time.Second
	// noProcessForget: an entry with no live process found for this long
	// is a namespace that is gone (a container that lived less than a
	// harvest): its slot is freed. Deleting a live namespace's entry
	// would lose its syscalls so far, hence the long wait.
	noProcessForget = 5 * time.Minute
)

// maxMessage is the node state's limit of recorder.message.
const maxMessage = 1024

// core is the recorder without the cluster: what it decides and keeps,
// fed by Run (and the unit tests) with recordings, pods, kernel entries
// and violations. Only the run goroutine calls its methods, except
// violation and the store (mu).
type core struct {
	kernel Kernel // nil: no in-kernel recorder on this node
	// kernelErr says why there is none, or why it cannot attach now.
	kernelErr error
	procs     Processes
	log       logr.Logger
	now       func() time.Time

	snap atomic.Pointer[snapshot]
	// pods maps the bare container IDs of the node's pods to them;
	// podsVersion counts its rebuilds.
	pods        map[string]*podContainer
	podsVersion uint64
	// byKey remembers each attributed kernel entry (Entry.key); pending
	// the ones not attributed yet.
	byKey   map[uint64]*attr
	pending map[uint64]*unattr
	// attachedAt is the moment (Processes' clock) the program was last
	// attached; valid while attachedKnown.
	attachedAt    uint64
	attachedKnown bool

	mu    sync.Mutex
	store *store
	// droppedBefore is the dropped count the node state had at start.
	droppedBefore int64
	// cache of violations' learned-profile matches (violation.go).
	learned map[learnedKey]bool
}

// attr is a mount namespace attributed to a container.
type attr struct {
	mntns uint64
	id    string // bare container ID
	pid   int    // the process it was attributed by
	// targets are the node recordings its syscalls go to, computed at
	// snapshot snap and pods version pods.
	targets   []target
	snap      *snapshot
	pods      uint64
	fromStart bool
	// confined is the container's podContainer.confined, kept from when
	// its pod was last known: a gone pod's last harvest is counted the
	// same way.
	confined bool
}

// unattr is a mount namespace not attributed (yet).
type unattr struct {
	mntns   uint64
	found   time.Time // when a live process was last looked for
	since   time.Time
	pid     int
	reason  string
	counted bool
}

func newCore(k Kernel, kernelErr error, procs Processes, log logr.Logger) *core {
	c := &core{kernel: k, kernelErr: kernelErr, procs: procs, log: log, now: time.Now,
		pods: map[string]*podContainer{}, byKey: map[uint64]*attr{}, pending: map[uint64]*unattr{},
		store: newStore(v1alpha1.MaxNodeRecordings), learned: map[learnedKey]bool{}}
	c.snap.Store(newSnapshot(nil))
	c.setKernel(k, kernelErr)
	return c
}

// setKernel takes the in-kernel recorder once opened, or why it could not
// be.
func (c *core) setKernel(k Kernel, err error) {
	c.kernel, c.kernelErr = k, err
	if k != nil && k.Attached() {
		// Attached before it was opened (pinned by an earlier agent):
		// containers that started before now may have run unrecorded in
		// between.
		c.markAttached()
	}
}

// updateRecordings takes changed recordings: what the kernel holds is
// harvested first for the recordings as they were (a recording that leaves
// mode Recording gets its last syscalls).
func (c *core) updateRecordings(recs []*v1alpha1.ProfileRecording) {
	if c.kernel != nil && c.kernel.Attached() {
		c.harvest()
	}
	c.setRecordings(recs)
}

// setRecordings takes the recordings as they are now, and forgets the
// node recordings of those that are gone.
func (c *core) setRecordings(recs []*v1alpha1.ProfileRecording) {
	s := newSnapshot(recs)
	c.snap.Store(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store.forget(func(uid types.UID) bool { return s.byUID[uid] != nil })
	clear(c.learned)
}

// setPods takes the node's pods as they are now.
func (c *core) setPods(pods []*corev1.Pod) {
	c.pods = podsByID(pods)
	c.podsVersion++
}

// restore starts from the node state's recordings and dropped count (the
// agent's earlier life), for recordings that still exist.
func (c *core) restore(st *v1alpha1.NodeState) {
	s := c.snap.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store.restore(st.Recordings, s.exists)
	if st.Recorder != nil {
		c.droppedBefore = st.Recorder.Dropped
	}
}

// syncKernel attaches the program while a recording needs it and detaches
// it otherwise. It reports whether to harvest now (attached, or just
// detached: the entries' last syscalls).
func (c *core) syncKernel() bool {
	if c.kernel == nil {
		return false
	}
	need := c.snap.Load().needKernel
	attached := c.kernel.Attached()
	switch {
	case need && !attached:
		if err := c.kernel.Attach(); err != nil {
			c.kernelErr = fmt.Errorf("cannot attach the eBPF recorder: %w", err)
			return false
		}
		c.kernelErr = nil
		c.markAttached()
		c.log.Info("eBPF recorder attached")
		return true
	case !need && attached:
		c.harvest() // what it saw up to now
		if err := c.kernel.Detach(); err != nil {
			c.kernelErr = fmt.Errorf("cannot detach the eBPF recorder: %w", err)
			return true
		}
		c.kernelErr = nil
		c.attachedKnown = false
		c.log.Info("eBPF recorder detached")
		return true // and what came between that harvest and the detach
	}
	return attached
}

func (c *core) markAttached() {
	t, err := c.procs.Now()
	c.attachedAt, c.attachedKnown = t, err == nil
}

// harvest reads the kernel's entries and adds each attributed one's
// syscalls to its node recordings; then it deletes the entries of
// containers that are gone (their syscalls harvested now, for the last
// time).
func (c *core) harvest() {
	if c.kernel == nil {
		return
	}
	entries, err := c.kernel.Entries()
	if err != nil {
		c.log.Error(err, "read the eBPF recorder's entries")
		return
	}
	now := c.now()
	snap := c.snap.Load()
	var fresh []*attr
	type work struct {
		a *attr
		e *Entry
	}
	todo := make([]work, 0, len(entries))
	for i := range entries {
		e := &entries[i]
		a := c.attribute(e, now)
		if a == nil {
			continue
		}
		if a.snap == nil {
			fresh = append(fresh, a)
		}
		if a.snap != snap || a.pods != c.podsVersion {
			if pc := c.pods[a.id]; pc != nil {
				a.targets = snap.kernelTargets(pc)
				a.confined = pc.confined
			}
			a.snap, a.pods = snap, c.podsVersion
		}
		todo = append(todo, work{a, e})
	}
	if len(fresh) > 0 && c.attachedKnown {
		started, err := c.procs.Started()
		if err != nil {
			c.log.Error(err, "read when containers started")
		}
		for _, a := range fresh {
			st, ok := started[a.id]
			a.fromStart = ok && st > c.attachedAt
		}
	}
	c.mu.Lock()
	for _, w := range todo {
		set, runtimeOnly := w.e.Syscalls, w.e.Runtime
		if w.a.confined && w.e.Filtered != nil {
			// What the runtime's init made is outside Filtered.
			set, runtimeOnly = w.e.Filtered, nil
		}
		for _, t := range w.a.targets {
			c.store.addSet(t, set, runtimeOnly, w.a.fromStart)
		}
	}
	c.mu.Unlock()
	// Delete removes every entry of an inode: while a live container's
	// entry shares it (the kernel reused a dead namespace's inode), the
	// dead one's entry waits (harvesting it again adds nothing), so the
	// live one loses nothing.
	live := map[uint64]bool{}
	for _, w := range todo {
		if c.pods[w.a.id] != nil {
			live[w.a.mntns] = true
		}
	}
	for k, a := range c.byKey {
		if c.pods[a.id] != nil || live[a.mntns] {
			continue
		}
		if err := c.kernel.Delete(a.mntns); err != nil {
			// Most likely deleted already; a slot left is Lost's to count.
			c.log.V(1).Info("delete the eBPF recorder's entry of a gone container", "mntns", a.mntns, "error", err.Error())
		}
		delete(c.byKey, k)
	}
	for k, u := range c.pending {
		if u.reason == ReasonNoProcess && now.Sub(u.since) >= noProcessForget && !live[u.mntns] {
			// Its namespace is most likely gone: free the slot. If it is
			// not, the kernel makes a new entry with a live process.
			if err := c.kernel.Delete(u.mntns); err == nil {
				delete(c.pending, k)
			}
		}
	}
}

// attribute returns e's namespace's container, or nil when it has none
// yet (counted once past its grace).
func (c *core) attribute(e *Entry, now time.Time) *attr {
	k := e.key()
	if a := c.byKey[k]; a != nil {
		if e.Pid == a.pid || e.Pid == 0 || e.ID != 0 {
			return a
		}
		// Without an ID, another process: still the same container? (An
		// inode is reused once its namespace is gone.)
		if id, ok := c.procs.ContainerID(e.Pid); !ok || id == a.id {
			a.pid = e.Pid
			return a
		}
		delete(c.byKey, k)
	}
	if u := c.pending[k]; u != nil && u.reason == ReasonNotContainer && u.pid == e.Pid {
		return nil // the host's, as found before
	}
	pid := e.Pid
	id, ok := c.procs.ContainerID(pid)
	if !ok {
		if p, found := c.livePid(k, e.MountNS, now); found {
			pid = p
			id, ok = c.procs.ContainerID(pid)
		}
	}
	reason := ""
	switch {
	case !ok:
		reason = ReasonNoProcess
	case id == "":
		reason = ReasonNotContainer
	case c.pods[id] == nil:
		reason = ReasonNoPod
	}
	if reason == "" {
		delete(c.pending, k)
		a := &attr{mntns: e.MountNS, id: id, pid: pid}
		c.byKey[k] = a
		return a
	}
	u := c.pending[k]
	if u == nil || u.reason != reason {
		u = &unattr{mntns: e.MountNS, since: now, reason: reason, found: now}
		c.pending[k] = u
	}
	u.pid = e.Pid
	grace := time.Duration(0)
	switch reason {
	case ReasonNoPod:
		grace = noPodGrace
	case ReasonNoProcess:
		grace = noProcessGrace
	}
	if !u.counted && now.Sub(u.since) >= grace {
		u.counted = true
		unattributed.WithLabelValues(reason).Inc()
	}
	return nil
}

// livePid finds a live process of the namespace of an entry whose Pid is
// gone, when the kernel recorder can (at most every findEvery per entry:
// it walks /proc).
func (c *core) livePid(k, mntns uint64, now time.Time) (int, bool) {
	f, ok := c.kernel.(PidFinder)
	if !ok {
		return 0, false
	}
	if u := c.pending[k]; u != nil && now.Sub(u.found) < findEvery {
		return 0, false
	}
	pid, found := f.PidInMountNS(mntns)
	if u := c.pending[k]; u != nil {
		u.found = now
	}
	return pid, found
}

// nodeState is the recordings and recorder state the node state should
// hold.
func (c *core) nodeState() ([]v1alpha1.NodeRecording, *v1alpha1.NodeRecorder) {
	rec := &v1alpha1.NodeRecorder{}
	var msg string
	if c.kernel != nil {
		rec.Attached = c.kernel.Attached()
		if l, err := c.kernel.Lost(); err == nil {
			rec.Lost = int64(l)
		}
		mapBytes.Set(float64(c.kernel.MapBytes()))
	}
	if c.kernelErr != nil {
		msg = c.kernelErr.Error()
		if c.kernel == nil {
			msg = "eBPF unavailable: " + msg
		}
	}
	c.mu.Lock()
	list := c.store.list()
	rec.Dropped = c.droppedBefore + c.store.dropped
	unnamedGauge.Set(float64(c.store.unnamed()))
	c.mu.Unlock()
	if len(msg) > maxMessage {
		msg = msg[:maxMessage-3] + "..."
	}
	rec.Message = msg
	attachedGauge.Set(map[bool]float64{true: 1}[rec.Attached])
	lost.Store(rec.Lost)
	dropped.Store(rec.Dropped)
	return list, rec
}
