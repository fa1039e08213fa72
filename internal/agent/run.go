package agent

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/util/workqueue"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// The queue's keys: nodeKey asks for a files pass (every event does),
// stateKey for a write of the state that pass found. The queue never runs
// one key twice at once, and Run's two workers run the two side by side.
const (
	nodeKey  = "node"
	stateKey = "state"
)

// Run watches the cluster and the profile files and makes a pass after
// every change, until ctx ends. Cluster events are batched (BatchDelay); a
// change on disk is repaired at once; resync is the full pass without any
// event (see Installer.Watch). It returns nil when ctx ends, or the error
// that keeps the agent from working (the watches could not start).
func (r *NodeReconciler) Run(ctx context.Context, resync time.Duration) error {
	if r.MinStatusInterval == 0 {
		r.MinStatusInterval = DefaultMinStatusInterval
	}
	if r.BatchDelay == 0 {
		r.BatchDelay = DefaultBatchDelay
	}
	if r.PassInterval == 0 {
		r.PassInterval = DefaultPassInterval
	}
	r.prepared = map[string]preparedEntry{}
	// Backoff per key capped at 30 s: client-go's default grows to 1000 s,
	// which would leave a node unrepaired for that long after a few
	// failures.
	q := workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[string]{Name: "node"})
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		<-ctx.Done()
		q.ShutDown()
	}()

	// The delaying queue keeps one pending entry, so a burst of events
	// (1000 profiles created together) is a few passes, not 1000.
	if err := r.Cluster.Start(ctx, func() { q.AddAfter(nodeKey, r.eventDelay(time.Now())) }); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while the first lists were loading
		}
		return fmt.Errorf("start watches: %w", err)
	}
	r.trigger = func() { q.Add(nodeKey) }
	watchDone := make(chan struct{})
	var watchErr error
	go func() {
		defer close(watchDone)
		if watchErr = r.Installer.Watch(ctx, resync, r.Trigger); watchErr != nil {
			cancel(watchErr)
		}
	}()
	q.Add(nodeKey) // the first pass, even with no profiles: it creates the node state
	stateDone := make(chan struct{})
	go func() {
		defer close(stateDone)
		for r.next(ctx, q) {
		}
	}()
	for r.next(ctx, q) {
	}
	<-stateDone
	<-watchDone
	return watchErr
}

// next runs one queued request, a files pass or a state write; false when
// the queue shut down.
func (r *NodeReconciler) next(ctx context.Context, q workqueue.TypedRateLimitingInterface[string]) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	var (
		after time.Duration
		err   error
		what  = "write node state"
	)
	if key == stateKey {
		after, err = r.writePending(ctx)
	} else {
		what = "pass"
		start := time.Now()
		r.lastPass.Store(start.UnixNano())
		var states []v1alpha1.NodeProfileState
		states, err = r.syncFiles(ctx)
		r.lastPassDur.Store(int64(time.Since(start)))
		if r.AfterPass != nil {
			r.AfterPass()
		}
		if states != nil {
			r.setPending(states)
			q.Add(stateKey)
		}
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			r.Log.Error(err, what+" failed; retrying")
		}
		q.AddRateLimited(key)
	case after > 0:
		q.Forget(key)
		q.AddAfter(key, after)
	default:
		q.Forget(key)
	}
	return true
}

// eventDelay is how long a pass asked for by a cluster event at now waits:
// BatchDelay, or longer to space passes by passSpacing times the last
// one's duration, at most PassInterval, from its start. (The queue keeps
// the earliest time asked for, and runs a key asked for during its pass
// once that pass ends.)
func (r *NodeReconciler) eventDelay(now time.Time) time.Duration {
	wait := r.BatchDelay
	if last := r.lastPass.Load(); last != 0 {
		spacing := min(r.PassInterval, passSpacing*time.Duration(r.lastPassDur.Load()))
		wait = max(wait, spacing-now.Sub(time.Unix(0, last)))
	}
	return wait
}

// Trigger asks for a pass now (the file watch calls it). It never blocks;
// before Run it does nothing.
func (r *NodeReconciler) Trigger() {
	if r.trigger != nil {
		r.trigger()
	}
}
