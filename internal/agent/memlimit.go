package agent

import (
	"runtime/debug"
	"runtime/metrics"
)

// DefaultMemoryFloor is the smallest soft memory limit AutoMemoryLimit sets.
// With ~10 MiB of binary pages resident on top of the Go runtime's memory,
// it keeps an agent holding 1000 profiles (~8 MiB live heap) under 40 MiB
// RSS even on a CPU-starved node, where the heap otherwise overshoots
// (docs/benchmarks.md section 4).
const DefaultMemoryFloor = 26 << 20

// liveFactor: the limit never comes closer than this multiple of the live
// heap, so a node with many more profiles gets a proportionally higher
// limit instead of a collector that runs without pause.
const liveFactor = 3

// AutoMemoryLimit returns a function that sets the Go runtime's soft memory
// limit to max(floor, 3 × the live heap after the last collection); the
// agent calls it after every pass. A fixed limit would either be loose for
// small clusters or make the collector thrash (it keeps collecting, capped
// at half the CPU, once the live heap nears the limit) for a cluster with
// several thousand profiles.
func AutoMemoryLimit(floor int64) func() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	var set int64
	return func() {
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return
		}
		limit := max(floor, int64(sample[0].Value.Uint64())*liveFactor)
		// Move only on a change of more than 1/8: the limit need not
		// follow every pass.
		if d := limit - set; set == 0 || d > set/8 || -d > set/8 {
			debug.SetMemoryLimit(limit)
			set = limit
		}
	}
}
