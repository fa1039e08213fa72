package auditsource

import (
	"fmt"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkBurst makes a burst of 50,000 LOG records from one process per
// iteration and reports, per receive buffer asked for, how many arrived, the
// rate and the reader's CPU (read, frame, parse). 212992 is a stock
// net.core.rmem_max, what SO_RCVBUF alone gets on most nodes.
//
//	go test -run '^$' -bench BenchmarkBurst -benchtime 1x ./internal/auditsource/
func BenchmarkBurst(b *testing.B) {
	const n = 50000
	for _, size := range []int{212992, 4 << 20, DefaultReceiveBuffer} {
		b.Run(fmt.Sprintf("rcvbuf=%d", size), func(b *testing.B) {
			c := startCollector(b, Options{ReceiveBuffer: size})
			granted, _ := c.src.ReceiveBuffer()
			var lost, overruns uint64
			var span, cpu time.Duration
			for i := 0; i < b.N; i++ {
				before := c.src.Stats().Overruns
				var ru0, ru1 unix.Rusage
				unix.Getrusage(unix.RUSAGE_SELF, &ru0)
				makeRecordsAsync(b, c, "log", n)
				got := c.wait(n, 10*time.Second)
				unix.Getrusage(unix.RUSAGE_SELF, &ru1)
				lost += uint64(n - len(got))
				overruns += c.src.Stats().Overruns - before
				c.mu.Lock()
				span += c.last.Sub(c.first)
				c.mu.Unlock()
				cpu += time.Duration(ru1.Utime.Nano() + ru1.Stime.Nano() - ru0.Utime.Nano() - ru0.Stime.Nano())
			}
			b.ReportMetric(float64(granted), "granted-bytes")
			b.ReportMetric(float64(lost)/float64(b.N), "lost/burst")
			b.ReportMetric(float64(overruns)/float64(b.N), "overruns/burst")
			b.ReportMetric(float64(n*b.N-int(lost))/span.Seconds(), "records/s")
			b.ReportMetric(cpu.Seconds()*10000/float64(n*b.N), "CPU-s/10k-records")
		})
	}
}
