package agent

import (
	"context"
	"fmt"
	"time"

	"k8s.io/client-go/util/workqueue"
)

// nodeKey is the queue's only key: every event asks for the node's one pass.
const nodeKey = "node"

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
	r.prepared = map[string]preparedEntry{}
	// A single key: a per-item backoff that grows to minutes (client-go's
	// default reaches 1000 s) would leave a node unrepaired for that long
	// after a few failures.
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
	if err := r.Cluster.Start(ctx, func() { q.AddAfter(nodeKey, r.BatchDelay) }); err != nil {
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
	for r.next(ctx, q) {
	}
	<-watchDone
	return watchErr
}

// next runs one pass for a queued request; false when the queue shut down.
func (r *NodeReconciler) next(ctx context.Context, q workqueue.TypedRateLimitingInterface[string]) bool {
	key, quit := q.Get()
	if quit {
		return false
	}
	defer q.Done(key)
	after, err := r.Reconcile(ctx)
	if r.AfterPass != nil {
		r.AfterPass()
	}
	switch {
	case err != nil:
		if ctx.Err() == nil {
			r.Log.Error(err, "pass failed; retrying")
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

// Trigger asks for a pass now (the file watch calls it). It never blocks;
// before Run it does nothing.
func (r *NodeReconciler) Trigger() {
	if r.trigger != nil {
		r.trigger()
	}
}
