// Package stats holds what the benchmarks compute over their samples.
package stats

import "time"

// Percentile is the nearest-rank p-th percentile (0..100) of sorted
// samples; 0 for none.
func Percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}
