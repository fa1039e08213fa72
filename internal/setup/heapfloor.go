package setup

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync/atomic"
)

// DefaultHeapFloor is the manager's default for HeapFloor: a quarter of
// the memory limit its Deployment has (config/manager), and large enough
// that the collector no longer ran several times a second while the
// fallback webhook answered reviews (docs/benchmarks.md section 7.1).
const DefaultHeapFloor = 64 << 20

// maxGCPercent bounds the GOGC HeapFloor sets when the live heap is tiny
// (at start), where floor/live would be huge.
const maxGCPercent = 2000

// HeapFloor keeps the Go collector's heap goal at floor bytes or more:
// after every collection it sets GOGC to the larger of base and the
// percent at which the live heap grows to floor. A process whose live
// heap is a few MB but which allocates fast (the manager answering
// admission reviews, each a few tens of KB of garbage) otherwise collects
// several times a second, and each collection's mark phase takes CPU from
// the requests in flight and shows in their tail latency. Once the live
// heap is floor/2 or more, GOGC is base, as if HeapFloor were not there:
// a large cluster's manager grows by no more than it did.
//
// stop ends the tuning and restores base. A GOMEMLIMIT (or
// debug.SetMemoryLimit) still caps the heap.
func HeapFloor(floor int64, base int) (stop func()) {
	t := &heapFloor{floor: floor, base: base}
	t.sample[0].Name = "/gc/heap/live:bytes"
	debug.SetGCPercent(base)
	t.arm()
	return func() {
		t.stopped.Store(true)
		debug.SetGCPercent(base)
	}
}

type heapFloor struct {
	floor   int64
	base    int
	set     int // the GOGC last set, touched by the finalizer goroutine only
	stopped atomic.Bool
	sample  [1]metrics.Sample
}

// gcCycle is garbage made for a collection to find: its finalizer runs
// after each collection and makes the next one.
type gcCycle struct{ t *heapFloor }

func (t *heapFloor) arm() {
	runtime.SetFinalizer(&gcCycle{t}, func(c *gcCycle) {
		if c.t.stopped.Load() {
			return
		}
		c.t.adjust()
		c.t.arm()
	})
}

// adjust sets GOGC for the live heap the last collection left.
func (t *heapFloor) adjust() {
	metrics.Read(t.sample[:])
	if t.sample[0].Value.Kind() != metrics.KindUint64 {
		return
	}
	p := GCPercentFor(int64(t.sample[0].Value.Uint64()), t.floor, t.base)
	// Move only on a change of more than 1/8: the goal need not follow
	// every collection.
	if d := p - t.set; t.set == 0 || d > t.set/8 || -d > t.set/8 {
		debug.SetGCPercent(p)
		t.set = p
	}
}

// GCPercentFor is the GOGC whose heap goal, live × (1 + GOGC/100), is at
// least floor, and never below base.
func GCPercentFor(live, floor int64, base int) int {
	if live <= 0 {
		return max(base, maxGCPercent)
	}
	p := floor*100/live - 100
	return int(min(max(p, int64(base)), maxGCPercent))
}
