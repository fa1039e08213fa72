package procfs

import (
	"os"
	"testing"
	"time"
)

// BenchmarkLookup is the enricher's attribution cost per record.
func BenchmarkLookup(b *testing.B) {
	pid := os.Getpid()
	// A record burst from one process: the cached answer.
	b.Run("hit", func(b *testing.B) {
		c := NewCache("/proc", 0)
		c.Lookup(pid)
		c.revalidate = time.Hour
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(pid)
		}
	})
	// Every lookup past the window: the start time is read again.
	b.Run("revalidate", func(b *testing.B) {
		c := NewCache("/proc", 0)
		c.revalidate = 0
		c.Lookup(pid)
		b.ReportAllocs()
		for b.Loop() {
			c.Lookup(pid)
		}
	})
	// A pid the cache has not seen: stat and cgroup read and parsed.
	b.Run("proc", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c := NewCache("/proc", 1)
			c.Lookup(pid)
		}
	})
}

// BenchmarkScan walks this machine's /proc; ns/op divided by the process
// count (reported) is the cost per process.
func BenchmarkScan(b *testing.B) {
	d, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range d {
		if e.Name()[0] >= '0' && e.Name()[0] <= '9' {
			n++
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Scan("/proc"); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(n), "ns/process")
	b.ReportMetric(float64(n), "processes")
}
