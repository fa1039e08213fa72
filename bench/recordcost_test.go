//go:build linux

package bench

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// recordChildEnv makes the test binary a getppid timing child that makes
// that many calls per repetition: run plain, or as the command of
// `seccompctl record`'s user-notification recorder, where every syscall is
// a round trip to the supervisor.
const recordChildEnv = "SECCOMP_BENCH_RECORD_CHILD"

// init runs before TestMain: under the recorder the test binary is first
// re-executed as Run's wrapper, which inherits recordChildEnv.
func init() {
	filter.MaybeRunChild()
	v := os.Getenv(recordChildEnv)
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		fmt.Fprintf(os.Stderr, "%s=%q: want a positive count\n", recordChildEnv, v)
		os.Exit(2)
	}
	runtime.LockOSThread()
	var samples []float64
	for rep := 0; rep < 5; rep++ {
		start := time.Now()
		for j := 0; j < n; j++ {
			unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
		}
		samples = append(samples, float64(time.Since(start).Nanoseconds())/float64(n))
	}
	fmt.Printf("ns %f\n", median(samples))
	os.Exit(0)
}

func parseNs(t testing.TB, out []byte) float64 {
	for _, line := range strings.Split(string(out), "\n") {
		var v float64
		if _, err := fmt.Sscanf(line, "ns %f", &v); err == nil {
			return v
		}
	}
	t.Fatalf("timing child printed no ns line:\n%s", out)
	return 0
}

// recordCost runs rounds of a plain and a recorded getppid child, in
// alternating order, and returns the median ns/op of each.
func recordCost(t testing.TB, rounds int) (plain, recorded float64) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	prog, err := ourbpf.Compile(recording.NotifyAll(Host), ourbpf.Options{Arch: Host, Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	var p, r []float64
	for i := 0; i < rounds; i++ {
		for _, rec := range []bool{i%2 == 0, i%2 != 0} {
			if !rec {
				cmd := exec.Command(exe, "-test.run=^$")
				cmd.Env = append(os.Environ(), recordChildEnv+"=200000")
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("plain child: %v\n%s", err, out)
				}
				p = append(p, parseNs(t, out))
				continue
			}
			// Run passes its own environment on: set the count for the
			// recorded child only while it starts.
			os.Setenv(recordChildEnv, "20000")
			var out bytes.Buffer
			rep, err := filter.Run(prog.Instructions, prog.Flags, []string{exe, "-test.run=^$"},
				filter.RunOptions{Notify: true, Record: true, Stdout: &out, Stderr: os.Stderr})
			os.Unsetenv(recordChildEnv)
			if err != nil || rep.ExitCode != 0 {
				t.Fatalf("recorded child: %v, exit %v\n%s", err, rep, out.String())
			}
			if len(rep.Recorded) == 0 {
				t.Fatal("the recorder saw no syscall")
			}
			r = append(r, parseNs(t, out.Bytes()))
		}
	}
	return median(p), median(r)
}

// TestRecordCost prints the `seccompctl record` (user notification) row of
// docs/benchmarks.md: SECCOMP_BENCH=1 go test -run TestRecordCost -v ./bench/
func TestRecordCost(t *testing.T) {
	if os.Getenv("SECCOMP_BENCH") == "" {
		t.Skip("timing test: set SECCOMP_BENCH=1")
	}
	p, r := recordCost(t, 6)
	fmt.Printf("\n| syscall | unconfined ns/op | under seccompctl record (user notification) ns/op | recorded / unconfined |\n|---|---|---|---|\n")
	fmt.Printf("| getppid | %.1f | %.1f | %.1f |\n\n", p, r, r/p)
}

// BenchmarkRecordCost reports the recorded/unconfined ratio of getppid.
func BenchmarkRecordCost(b *testing.B) {
	var p, r float64
	for i := 0; i < b.N; i++ {
		p, r = recordCost(b, 2)
	}
	b.ReportMetric(r/p, "ratio-getppid-recorded")
	b.ReportMetric(p, "ns-getppid-unconfined")
	b.ReportMetric(r, "ns-getppid-recorded")
}
