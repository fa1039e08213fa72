package enricher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// Defaults of Enricher.
const (
	DefaultScanInterval     = 30 * time.Second
	DefaultMinStateInterval = 10 * time.Second
	// podSettle batches the pod events of a rollout into one scan.
	podSettle = 2 * time.Second
	// sourceRetry is the wait before a failed source is started again.
	sourceRetry = time.Minute
)

// Enricher is the role: records → attribution → metrics and Events; /proc
// → the containers' kernel state in the node state.
type Enricher struct {
	// Node is the node's shared plumbing: its pod informer feeds the
	// index, its node state is compared before a write.
	Node *nodekube.Node
	// Source delivers the records; nil when it could not be created
	// (SourceErr says why), and the enricher still reports the kernel
	// state.
	Source    Source
	SourceErr error
	Parse     ParseFunc
	Procs     Processes
	Kernel    Kernel
	Events    *Events
	Log       logr.Logger
	// ScanInterval is the period of the /proc scan (pods changes scan
	// too); MinStateInterval the minimum time between two node state
	// writes.
	ScanInterval, MinStateInterval time.Duration
	// OnViolation, if set, is told of every attributed record (the
	// recorder's log, complain and enforce sources). It runs on the record
	// path: it must return at once.
	OnViolation func(nodekube.Violation)
	// Probes, if set, keeps ENOSYS answered on purpose by a container's
	// profile (clone3 under a learned profile) out of the violations.
	Probes *Probes

	// state is where the writes go; Node unless a test sets it.
	state NodeState
	// dry collects what containers logged under the dry-run profile.
	dry *dryRuns
}

// Run runs the role until ctx ends. It never fails the agent for a source
// that cannot read: the node state says so instead.
func (e *Enricher) Run(ctx context.Context) error {
	if e.ScanInterval == 0 {
		e.ScanInterval = DefaultScanInterval
	}
	if e.MinStateInterval == 0 {
		e.MinStateInterval = DefaultMinStateInterval
	}
	if e.state == nil {
		e.state = e.Node
	}
	index := newPodIndex()
	e.dry = newDryRuns()
	observe := e.dry.observe
	if e.Events != nil {
		dry := observe
		observe = func(c *container, r Record) {
			dry(c, r)
			e.Events.observe(c, r)
		}
		go e.Events.Run(ctx)
	}
	if hook := e.OnViolation; hook != nil {
		events := observe
		observe = func(c *container, r Record) {
			if events != nil {
				events(c, r)
			}
			hook(nodekube.Violation{Namespace: c.Namespace, Pod: c.Pod, PodUID: string(c.PodUID), Container: c.Name,
				Profile: c.Profile, ABI: r.Arch, Syscall: r.Syscall, Nr: r.Nr, Action: r.Action})
		}
	}
	attr := newAttributor(e.Parse, e.Procs, index, observe)
	attr.probes = e.Probes
	kick := make(chan struct{}, 1)
	poke := func() {
		select {
		case kick <- struct{}{}:
		default:
		}
	}
	if _, err := e.Node.Pods.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { e.podSet(index, o, poke); attr.retry() },
		UpdateFunc: func(_, o any) { e.podSet(index, o, poke); attr.retry() },
		DeleteFunc: func(o any) {
			if t, ok := o.(toolscache.DeletedFinalStateUnknown); ok {
				o = t.Obj
			}
			if pod, ok := o.(*corev1.Pod); ok {
				index.remove(pod.UID)
				attr.forgetPod(pod.Namespace, pod.Name)
				if e.Events != nil {
					e.Events.forgetPod(pod.Namespace, pod.Name)
				}
				poke()
			}
		},
	}); err != nil {
		return fmt.Errorf("watch the node's pods: %w", err)
	}
	go attr.expireLoop(ctx)
	e.Node.Start(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), e.Node.Synced) {
		return nil
	}

	src := &sourceState{}
	stats := func() SourceStats { return SourceStats{} }
	if e.Source != nil {
		src.name = e.Source.Name()
		stats = e.Source.Stats
		if err := nodekube.Registry.Register(newLostCollector(stats)); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("register the lost records metric: %w", err)
		}
		go e.read(ctx, src, attr.handle, poke)
	} else {
		msg := "no source of seccomp records"
		if e.SourceErr != nil {
			msg = e.SourceErr.Error()
		}
		src.set(false, msg)
	}
	e.writeLoop(ctx, index, src, stats, kick)
	return nil
}

func (e *Enricher) podSet(index *podIndex, o any, poke func()) {
	if pod, ok := o.(*corev1.Pod); ok {
		index.set(pod)
		poke()
	}
}

// read runs the source, and again after a failure, until ctx ends.
func (e *Enricher) read(ctx context.Context, src *sourceState, handle func([]byte), poke func()) {
	for {
		if err := e.Source.Open(); err != nil {
			e.Log.Error(err, "cannot read seccomp records; retrying", "after", sourceRetry)
			src.set(false, "cannot read seccomp records: "+err.Error())
			poke()
			select {
			case <-ctx.Done():
				return
			case <-time.After(sourceRetry):
			}
			continue
		}
		src.set(true, "")
		poke()
		err := e.Source.Run(ctx, handle)
		if ctx.Err() != nil {
			return
		}
		msg := "the record source stopped"
		if err != nil {
			msg = "cannot read seccomp records: " + err.Error()
		}
		e.Log.Error(err, "record source failed; retrying", "after", sourceRetry)
		src.set(false, msg)
		poke()
		select {
		case <-ctx.Done():
			return
		case <-time.After(sourceRetry):
		}
	}
}

// writeLoop scans /proc and writes the node state on every tick and pod
// change (settled), at most once per MinStateInterval, until ctx ends.
func (e *Enricher) writeLoop(ctx context.Context, index *podIndex, src *sourceState, stats func() SourceStats, kick <-chan struct{}) {
	tick := time.NewTicker(e.ScanInterval)
	defer tick.Stop()
	var last time.Time
	timer := time.NewTimer(0) // the first scan at once
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-kick:
			timer.Reset(podSettle)
			continue
		case <-timer.C:
		}
		if wait := e.MinStateInterval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			continue
		}
		wrote, err := e.sync(ctx, index, src, stats)
		if errors.Is(err, errNoState) {
			timer.Reset(podSettle) // the installer creates it at start
			continue
		}
		if err != nil && ctx.Err() == nil {
			e.Log.Error(err, "write the kernel state; retrying")
			timer.Reset(e.MinStateInterval)
		}
		if wrote {
			last = time.Now()
		}
	}
}

// errNoState: the node state does not exist yet (the installer creates it).
var errNoState = errors.New("no node state yet")

// sync scans once and writes the node state if it changed.
func (e *Enricher) sync(ctx context.Context, index *podIndex, src *sourceState, stats func() SourceStats) (bool, error) {
	states, err := containerStates(e.Kernel, index.all())
	if err != nil {
		return false, fmt.Errorf("scan /proc: %w", err)
	}
	setContainersGauge(states)
	states = capContainers(states)
	cur := e.state.NodeState()
	if cur == nil {
		return false, errNoState
	}
	if e.dry != nil {
		e.dry.fill(states, cur.Status.Containers)
	}
	patch, err := statePatch(cur, states, src.records(stats(), time.Now()))
	if err != nil || patch == nil {
		return false, err
	}
	if _, err := e.state.PatchNodeState(ctx, patch); err != nil {
		return false, err
	}
	stateWrites.Inc()
	return true, nil
}
