package nodekube

import (
	"context"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	toolscache "k8s.io/client-go/tools/cache"
)

// maxEmptyResumes: when this many streams in a row have ended without an
// event, a resumingWatch ends and leaves the next step to the reflector.
// emptyResumeDelay is the wait before resuming after the first empty
// stream, doubled after each next one (0.1 + 0.2 + 0.4 s in all).
const maxEmptyResumes = 4

var emptyResumeDelay = 100 * time.Millisecond // a variable for the tests

// openWatch starts one watch stream.
type openWatch func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)

// resumingWatch is one watch of the reflector's that outlives the
// apiserver's closing of its stream: when a stream ends cleanly, it opens
// the next one from the last resource version it passed on (an event's or
// a bookmark's), and the reflector sees one unbroken watch.
//
// Why: a CPU-starved apiserver closes the watches it cannot feed in time
// (its watch cache gives a blocked watcher a fraction of a second, then
// drops it). The reflector resumes such a watch at once, but when the new
// stream is dropped too before it carried anything, client-go counts a
// "very short watch": it waits a backoff of 0.8 s (doubling up to 30 s,
// reset after 2 min) and then lists every profile again. In the 100-node
// benchmark (docs/benchmarks.md section 4) the handful of agents that went
// that way were 9 to 12 s behind the others, and held three quarters of
// the files slower than the p99. Resuming from the last version costs the
// apiserver one watch from its cache, instead of a full list.
//
// Only watches from a known resource version are resumed: the initial
// events of a watch-list (sendInitialEvents) come in no version order. An
// error event (410 Gone among them) or a failed open ends the watch, and
// the reflector handles it as before; so does the end of the timeout the
// reflector asked for, and maxEmptyResumes empty streams in a row.
type resumingWatch struct {
	result chan watch.Event
	stop   context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

// ResumeWatches makes lw's watches from a known version resumingWatches
// (lw.WatchFuncWithContext opens each stream); it returns lw.
func ResumeWatches(lw *toolscache.ListWatch) *toolscache.ListWatch {
	stream := openWatch(lw.WatchFuncWithContext)
	watchFn := func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		if resumable(opts) {
			return newResumingWatch(ctx, opts, stream)
		}
		return stream(ctx, opts)
	}
	lw.WatchFuncWithContext = watchFn
	lw.WatchFunc = func(opts metav1.ListOptions) (watch.Interface, error) { return watchFn(context.Background(), opts) }
	return lw
}

// resumable reports whether a watch with opts can be resumed by version.
func resumable(opts metav1.ListOptions) bool {
	initial := opts.SendInitialEvents != nil && *opts.SendInitialEvents
	return !initial && opts.ResourceVersion != "" && opts.ResourceVersion != "0"
}

// newResumingWatch opens the first stream with opts (its error is
// returned as is) and keeps resuming it as resumingWatch says. opts must be
// resumable.
func newResumingWatch(ctx context.Context, opts metav1.ListOptions, open openWatch) (watch.Interface, error) {
	first, err := open(ctx, opts)
	if err != nil {
		return nil, err
	}
	var deadline time.Time
	if opts.TimeoutSeconds != nil {
		deadline = time.Now().Add(time.Duration(*opts.TimeoutSeconds) * time.Second)
	}
	ctx, cancel := context.WithCancel(ctx)
	w := &resumingWatch{result: make(chan watch.Event), stop: cancel, done: make(chan struct{})}
	go w.run(ctx, first, opts, open, deadline)
	return w, nil
}

func (w *resumingWatch) ResultChan() <-chan watch.Event { return w.result }

// Stop ends the watch and waits until the current stream is closed.
func (w *resumingWatch) Stop() {
	w.once.Do(w.stop)
	<-w.done
}

func (w *resumingWatch) run(ctx context.Context, cur watch.Interface, opts metav1.ListOptions, open openWatch, deadline time.Time) {
	defer close(w.done)
	defer close(w.result)
	rv := opts.ResourceVersion
	empty := 0
	for {
		delivered, ok := w.forward(ctx, cur, &rv)
		cur.Stop()
		if !ok {
			return
		}
		if delivered {
			empty = 0
		} else {
			empty++
		}
		if empty == maxEmptyResumes {
			return
		}
		if empty > 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(emptyResumeDelay << (empty - 1)):
			}
		}
		next := opts
		next.ResourceVersion = rv
		if !deadline.IsZero() {
			left := int64(time.Until(deadline) / time.Second)
			if left < 1 {
				return
			}
			next.TimeoutSeconds = &left
		}
		var err error
		if cur, err = open(ctx, next); err != nil {
			return
		}
		watchResumes.Inc()
	}
}

// forward passes the events of one stream on until it ends, keeping *rv
// at the version of the last one. delivered says whether the stream
// carried any event; ok is false when the watch is over (stopped, or an
// error event passed on).
func (w *resumingWatch) forward(ctx context.Context, cur watch.Interface, rv *string) (delivered, ok bool) {
	for {
		select {
		case <-ctx.Done():
			return delivered, false
		case ev, open := <-cur.ResultChan():
			if !open {
				return delivered, ctx.Err() == nil
			}
			delivered = true
			select {
			case w.result <- ev:
			case <-ctx.Done():
				return delivered, false
			}
			if ev.Type == watch.Error {
				return delivered, false
			}
			if m, err := meta.Accessor(ev.Object); err == nil && m.GetResourceVersion() != "" {
				*rv = m.GetResourceVersion()
			}
		}
	}
}
