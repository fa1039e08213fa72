package setup

import (
	"runtime"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercentFor(t *testing.T) {
	for _, c := range []struct {
		live, floor int64
		base, want  int
	}{
		{8 << 20, 64 << 20, 100, 700},  // goal 64 MiB
		{16 << 20, 64 << 20, 100, 300}, // goal 64 MiB
		{32 << 20, 64 << 20, 100, 100}, // live × 2 reaches the floor: base
		{200 << 20, 64 << 20, 100, 100},
		{40 << 20, 64 << 20, 200, 200}, // never below base
		{1 << 10, 64 << 20, 100, maxGCPercent},
		{0, 64 << 20, 100, maxGCPercent},
	} {
		if got := GCPercentFor(c.live, c.floor, c.base); got != c.want {
			t.Errorf("GCPercentFor(%d, %d, %d) = %d, want %d", c.live, c.floor, c.base, got, c.want)
		}
	}
}

// The real collector: with a small live heap the goal rises to the floor;
// with a live heap over half the floor GOGC is back at base; stop leaves
// base.
func TestHeapFloorFollowsTheLiveHeap(t *testing.T) {
	read := func(name string) uint64 {
		s := []metrics.Sample{{Name: name}}
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	// until collects until GOGC is what ok wants, the finalizer having run
	// after a collection.
	until := func(what string, ok func(gogc uint64) bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			runtime.GC()
			time.Sleep(10 * time.Millisecond) // the finalizer goroutine
			if ok(read("/gc/gogc:percent")) {
				return
			}
		}
		t.Fatalf("%s: GOGC %d, live heap %d, goal %d", what, read("/gc/gogc:percent"), read("/gc/heap/live:bytes"), read("/gc/heap/goal:bytes"))
	}
	const floor = 64 << 20
	stop := HeapFloor(floor, 100)
	defer stop()
	until("small live heap", func(gogc uint64) bool { return gogc > 100 && read("/gc/heap/goal:bytes") >= floor*7/8 })

	live := make([]byte, floor) // over half the floor, kept live below
	for i := range live {
		live[i] = 1
	}
	until("large live heap", func(gogc uint64) bool { return gogc == 100 })
	runtime.KeepAlive(live)

	live = nil
	until("small again", func(gogc uint64) bool { return gogc > 100 })
	stop()
	if got := read("/gc/gogc:percent"); got != 100 {
		t.Errorf("after stop: GOGC %d, want 100", got)
	}
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	if got := read("/gc/gogc:percent"); got != 100 {
		t.Errorf("a collection after stop: GOGC %d, want 100", got)
	}
}
