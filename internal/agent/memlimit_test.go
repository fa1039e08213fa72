package agent

import (
	"runtime"
	"runtime/debug"
	"testing"
)

// The limit is the floor while the live heap is small, and grows with the
// live heap (3×) so a large node never sits at its limit.
func TestAutoMemoryLimitFollowsTheLiveHeap(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)

	runtime.GC()
	AutoMemoryLimit(1 << 40)() // a floor above anything live
	if got := debug.SetMemoryLimit(-1); got != 1<<40 {
		t.Fatalf("limit %d, want the floor %d", got, int64(1<<40))
	}

	hold := make([][]byte, 0, 64)
	for range 64 {
		hold = append(hold, make([]byte, 1<<20)) // 64 MiB live
	}
	runtime.GC()
	AutoMemoryLimit(1 << 20)()
	got := debug.SetMemoryLimit(-1)
	if got < 3*64<<20 {
		t.Fatalf("limit %d MiB with 64 MiB live, want at least %d MiB", got>>20, 3*64)
	}
	runtime.KeepAlive(hold)
}
