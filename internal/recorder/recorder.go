package recorder

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// Defaults of Recorder.
const (
	DefaultHarvestInterval  = time.Second
	DefaultMinStateInterval = 3 * time.Second
	// DefaultMaxNamespaces is the in-kernel map's size: a node's
	// containers with room for the host's own namespaces.
	DefaultMaxNamespaces = 1024
	// kernelRetry is the wait before an in-kernel recorder that could not
	// be opened is tried again (while a recording needs it).
	kernelRetry = time.Minute
)

// ErrNoKernel: this agent was built without the in-kernel recorder.
var ErrNoKernel = errors.New("this agent was built without the eBPF recorder")

// Recorder is the role: recordings and the node's pods → the in-kernel
// recorder attached or not → harvested syscalls, and the violations
// stream's, in the node state.
type Recorder struct {
	// Node is the node's shared plumbing (its pods, its node state, the
	// client of the operator's API group).
	Node *nodekube.Node
	// Open opens the in-kernel recorder with Options; nil when the agent
	// has none (then only the log, complain and enforce sources record).
	// It is called only while a recording needs it, or at start when
	// Probe finds what an earlier agent pinned: loading the program parses
	// the kernel's BTF, which an agent on every node should not pay for
	// while nothing records with eBPF.
	Open OpenFunc
	// Probe, when set, is called once at start: see ProbeFunc.
	Probe   ProbeFunc
	Options Options
	Procs   Processes
	Log     logr.Logger
	// HarvestInterval is the period of the kernel's harvest while
	// attached; MinStateInterval the minimum time between two node state
	// writes.
	HarvestInterval, MinStateInterval time.Duration

	// state is where the writes go; Node unless a test sets it.
	state NodeState
	core  *core
	ready chan struct{}
}

// Violation is the enricher's hook (Enricher.OnViolation): it adds an
// attributed seccomp record to the recordings it belongs to, and returns
// at once for any other. Records before the recorder has started are
// ignored (no recording is known then).
func (r *Recorder) Violation(v nodekube.Violation) {
	select {
	case <-r.ready:
		r.core.violation(v)
	default:
	}
}

// New prepares a recorder; Run runs it. Violation may be called from the
// start.
func New(node *nodekube.Node, open OpenFunc, opts Options, procs Processes, log logr.Logger) *Recorder {
	return &Recorder{Node: node, Open: open, Options: opts, Procs: procs, Log: log, ready: make(chan struct{})}
}

// Run runs the role until ctx ends. A node without eBPF is no failure: the
// node state's recorder message says why it cannot record with it.
func (r *Recorder) Run(ctx context.Context) error {
	if r.HarvestInterval == 0 {
		r.HarvestInterval = DefaultHarvestInterval
	}
	if r.MinStateInterval == 0 {
		r.MinStateInterval = DefaultMinStateInterval
	}
	if r.Options.MaxNamespaces == 0 {
		r.Options.MaxNamespaces = DefaultMaxNamespaces
	}
	if r.state == nil {
		r.state = r.Node
	}
	if r.ready == nil {
		r.ready = make(chan struct{})
	}
	recs := nodekube.Informer(nodekube.ListWatch(r.Node.Seccomp, "profilerecordings", fields.Everything()), &v1alpha1.ProfileRecording{}, trimRecording)
	recKick, podKick := make(chan struct{}, 1), make(chan struct{}, 1)
	if _, err := recs.AddEventHandler(pokes(recKick)); err != nil {
		return fmt.Errorf("watch the recordings: %w", err)
	}
	if _, err := r.Node.Pods.AddEventHandler(pokes(podKick)); err != nil {
		return fmt.Errorf("watch the node's pods: %w", err)
	}
	go recs.RunWithContext(ctx)
	r.Node.Start(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), r.Node.Synced, recs.HasSynced) {
		return nil
	}

	r.core = newCore(nil, nil, r.Procs, r.Log)
	r.core.setRecordings(nodekube.ListOf[*v1alpha1.ProfileRecording](recs))
	r.core.setPods(r.Node.PodList())
	if cur := r.state.NodeState(); cur != nil {
		r.core.restore(&cur.Status)
		r.Log.Info("continuing the node's recordings", "recordings", len(cur.Status.Recordings))
	}
	var lastOpen time.Time
	r.startKernel(&lastOpen)
	close(r.ready)
	r.loop(ctx, recs, recKick, podKick, lastOpen)
	r.close(r.core.kernel)
	return nil
}

// pokes is an event handler that pokes kick on any event.
func pokes(kick chan struct{}) toolscache.ResourceEventHandlerFuncs {
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke() },
		UpdateFunc: func(any, any) { poke() },
		DeleteFunc: func(any) { poke() },
	}
}

// startKernel opens the in-kernel recorder at start when a recording needs
// it or an earlier agent left pinned state to take over (harvested, and
// detached and unpinned unless a recording still needs it); otherwise it
// only says, from Probe, why eBPF would be unavailable.
func (r *Recorder) startKernel(lastOpen *time.Time) {
	if r.Open == nil {
		r.core.kernelErr = ErrNoKernel
		return
	}
	if r.Probe != nil {
		leftover, err := r.Probe(r.Options)
		if err != nil {
			r.core.kernelErr = err
			r.Log.Error(err, "no eBPF recorder on this node; ProfileRecordings with recorder ebpf record nothing here")
		}
		if leftover {
			r.openKernel(lastOpen)
			return
		}
	}
	r.ensureKernel(lastOpen)
}

// ensureKernel opens the in-kernel recorder when a recording needs it and
// it is not open: at once the first time, then every kernelRetry after a
// failure.
func (r *Recorder) ensureKernel(lastOpen *time.Time) {
	c := r.core
	if c.kernel != nil || r.Open == nil || !c.snap.Load().needKernel {
		return
	}
	if !lastOpen.IsZero() && time.Since(*lastOpen) < kernelRetry {
		return
	}
	r.openKernel(lastOpen)
}

func (r *Recorder) openKernel(lastOpen *time.Time) {
	*lastOpen = time.Now()
	k, err := r.open()
	r.core.setKernel(k, err)
}

// open opens the in-kernel recorder, or says why it cannot.
func (r *Recorder) open() (Kernel, error) {
	if r.Open == nil {
		return nil, ErrNoKernel
	}
	k, err := r.Open(r.Options)
	if err != nil {
		r.Log.Error(err, "no eBPF recorder on this node; ProfileRecordings with recorder ebpf record nothing here")
		return nil, err
	}
	if rk, ok := k.(interface{ Replaced() bool }); ok && rk.Replaced() {
		r.Log.Info("replaced the pinned eBPF maps of an incompatible layout (another agent version or map size): what they held since the previous agent's last harvest is lost; what it harvested is in the node state")
		replacedMaps.Inc()
	}
	return k, nil
}

// close leaves the kernel as the next agent should find it: the pinned
// maps (and an attached program) while a recording needs them, nothing
// otherwise.
func (r *Recorder) close(k Kernel) {
	if k == nil {
		return
	}
	if !r.core.snap.Load().needKernel {
		if err := k.Detach(); err != nil && k.Attached() {
			r.Log.Error(err, "detach the eBPF recorder")
		}
		if err := k.Unpin(); err != nil {
			r.Log.Error(err, "unpin the eBPF recorder's maps")
		}
	}
	if err := k.Close(); err != nil {
		r.Log.Error(err, "close the eBPF recorder")
	}
}

// loop harvests, follows the recordings and pods, and writes the node
// state until ctx ends.
func (r *Recorder) loop(ctx context.Context, recs toolscache.SharedIndexInformer, recKick, podKick <-chan struct{}, lastOpen time.Time) {
	c := r.core
	harvest := time.NewTicker(r.HarvestInterval)
	defer harvest.Stop()
	write := time.NewTicker(r.MinStateInterval)
	defer write.Stop()
	// A program the agent's earlier life left attached (pinned) is
	// harvested at once; a detached one was harvested at its detach.
	if c.syncKernel() {
		c.harvest()
	}
	r.write(ctx)
	for {
		select {
		case <-ctx.Done():
			if c.kernel != nil && c.kernel.Attached() {
				c.harvest()
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				r.write(wctx)
				cancel()
			}
			return
		case <-recKick:
			c.updateRecordings(nodekube.ListOf[*v1alpha1.ProfileRecording](recs))
			r.ensureKernel(&lastOpen)
			if c.syncKernel() {
				c.harvest()
			}
		case <-podKick:
			c.setPods(r.Node.PodList())
		case <-harvest.C:
			r.ensureKernel(&lastOpen)
			if c.syncKernel() {
				c.harvest()
			}
		case <-write.C:
			r.write(ctx)
		}
	}
}

// write patches the node state when its recordings or recorder state
// differ from what the recorder holds.
func (r *Recorder) write(ctx context.Context) {
	cur := r.state.NodeState()
	if cur == nil {
		return // the installer creates it at start
	}
	recs, rec := r.core.nodeState()
	patch, err := statePatch(&cur.Status, recs, rec)
	if err != nil || patch == nil {
		return
	}
	if _, err := r.state.PatchNodeState(ctx, patch); err != nil {
		if ctx.Err() == nil {
			r.Log.Error(err, "write the recordings to the node state; retrying")
		}
		return
	}
	stateWrites.Inc()
}
