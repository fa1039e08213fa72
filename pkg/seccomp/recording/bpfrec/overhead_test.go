//go:build linux && amd64

package bpfrec

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// Timing: the "spin" child (in its own mount namespace) times getppid in
// costReps short bursts, each rep in every state, the order rotating:
// detached (the syscall path as if the recorder never was), attached and
// recording this namespace (after the first call the program's
// steady-state path: a lookup and a bit test), and attached with this
// namespace excluded; and "floor": a program that only returns 0 attached
// to the same tracepoint instead, the cost any sys_enter program pays
// (the kernel's syscall slow path and the program's invocation), which
// the recorder's own work is measured against. Interleaving short bursts inside one process keeps
// the machine's load, which moves on a shared 2-core box, out of the
// ratios: each ratio is taken within a rep, then the median over reps.
// The fastest burst of each mode is printed too: load only ever adds time,
// so min/min is the intrinsic cost when the box is busy.
const (
	burst    = 10000
	costReps = 201
)

var costModes = []string{"detached", "floor", "attached", "excluded"}

// floorProgram is an empty tp_btf/sys_enter program.
func floorProgram() (*ebpf.Program, error) {
	return ebpf.NewProgram(&ebpf.ProgramSpec{
		Type:         ebpf.Tracing,
		AttachType:   ebpf.AttachTraceRawTp,
		AttachTo:     "sys_enter",
		Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		License:      "GPL",
	})
}

func spin() error {
	runtime.LockOSThread()
	self, err := MountNamespace(os.Getpid())
	if err != nil {
		return err
	}
	rec, err := Open(Options{})
	if err != nil {
		return err
	}
	defer rec.Close()
	excl, err := Open(Options{ExcludeMountNS: self})
	if err != nil {
		return err
	}
	defer excl.Close()
	floor, err := floorProgram()
	if err != nil {
		return err
	}
	defer floor.Close()
	var floorLink link.Link
	set := func(mode string) error {
		if floorLink != nil && mode != "floor" {
			floorLink.Close()
			floorLink = nil
		}
		if floorLink == nil && mode == "floor" {
			l, err := link.AttachTracing(link.TracingOptions{Program: floor, AttachType: ebpf.AttachTraceRawTp})
			if err != nil {
				return err
			}
			floorLink = l
		}
		return errors.Join(
			map[bool]func() error{true: rec.Attach, false: rec.Detach}[mode == "attached"](),
			map[bool]func() error{true: excl.Attach, false: excl.Detach}[mode == "excluded"](),
		)
	}
	ns := map[string][]float64{}
	ratios := map[string][]float64{}
	for rep := 0; rep < costReps; rep++ {
		t := map[string]float64{}
		for i := range costModes {
			mode := costModes[(rep+i)%len(costModes)]
			if err := set(mode); err != nil {
				return err
			}
			start := time.Now()
			for j := 0; j < burst; j++ {
				unix.RawSyscall(unix.SYS_GETPPID, 0, 0, 0)
			}
			t[mode] = float64(time.Since(start).Nanoseconds()) / burst
			ns[mode] = append(ns[mode], t[mode])
		}
		for _, m := range costModes {
			ratios[m] = append(ratios[m], t[m]/t["detached"])
		}
	}
	if err := set("detached"); err != nil {
		return err
	}
	for _, m := range costModes {
		fmt.Printf("%s %f %f %f\n", m, median(ns[m]), median(ratios[m]), slices.Min(ns[m]))
	}
	fmt.Printf("mapbytes %d 0 0\n", rec.MapBytes())
	es, err := rec.Entries()
	if err != nil {
		return err
	}
	recorded := slices.ContainsFunc(es, func(e Entry) bool { return e.MountNS == self && e.Syscalls.Has("getppid") })
	if !recorded {
		return fmt.Errorf("the attached bursts' getppid was not recorded")
	}
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// cost is one mode's median ns/op, median ratio to detached and fastest
// burst's ns/op.
type cost struct{ ns, ratio, min float64 }

func syscallCost(t testing.TB) (map[string]cost, int) {
	t.Helper()
	s := start(t, "spin")
	s.finish(t)
	out := map[string]cost{}
	mapBytes := 0
	for _, line := range strings.Split(strings.TrimSpace(s.out.String()), "\n") {
		var m string
		var a, b, c float64
		if _, err := fmt.Sscanf(line, "%s %f %f %f", &m, &a, &b, &c); err != nil {
			t.Fatalf("spin child printed %q", s.out.String())
		}
		if m == "mapbytes" {
			mapBytes = int(a)
			continue
		}
		out[m] = cost{a, b, c}
	}
	return out, mapBytes
}

// TestSyscallCost prints the markdown rows of docs/benchmarks.md:
// BPFREC_BENCH=1 go test -run TestSyscallCost -v ./pkg/seccomp/recording/bpfrec/
// Timing only, so plain go test skips it; it fails if the recorded
// bursts were not recorded.
func TestSyscallCost(t *testing.T) {
	if os.Getenv("BPFREC_BENCH") == "" {
		t.Skip("timing test: set BPFREC_BENCH=1")
	}
	requireKernel(t)
	c, mb := syscallCost(t)
	fmt.Printf("\n| getppid, recorder | ns/op (median of %d bursts of %d) | / detached (median of per-rep ratios) | fastest burst ns/op | fastest / fastest detached | fastest / fastest floor | target (≤ 1.3) |\n|---|---|---|---|---|---|---|\n", costReps, burst)
	for _, m := range costModes {
		target := ""
		if m == "attached" {
			target = yes(c[m].ratio <= 1.3 && c[m].min/c["detached"].min <= 1.3)
		}
		fmt.Printf("| %s | %.1f | %.3f | %.1f | %.3f | %.3f | %s |\n", m, c[m].ns, c[m].ratio, c[m].min, c[m].min/c["detached"].min, c[m].min/c["floor"].min, target)
	}
	fmt.Printf("\nMapBytes (%d namespaces): %d\n", DefaultMaxNamespaces, mb)
}

func yes(ok bool) string {
	if ok {
		return "✓"
	}
	return "✗"
}

// BenchmarkRecorderOverhead reports getppid's cost with the recorder
// attached (recorded and excluded namespace) over detached.
func BenchmarkRecorderOverhead(b *testing.B) {
	requireKernel(b)
	var c map[string]cost
	var mb int
	for i := 0; i < b.N; i++ {
		c, mb = syscallCost(b)
	}
	b.ReportMetric(c["attached"].ratio, "ratio-attached")
	b.ReportMetric(c["excluded"].ratio, "ratio-excluded")
	b.ReportMetric(c["attached"].min/c["detached"].min, "ratio-attached-fastest")
	b.ReportMetric(c["floor"].min/c["detached"].min, "ratio-floor-fastest")
	b.ReportMetric(c["attached"].min/c["floor"].min, "ratio-attached-vs-floor-fastest")
	b.ReportMetric(c["detached"].ns, "ns-detached")
	b.ReportMetric(c["attached"].ns, "ns-attached")
	b.ReportMetric(float64(mb), "map-bytes")
}
