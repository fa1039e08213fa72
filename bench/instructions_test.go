//go:build libseccomp

package bench

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
	"github.com/seccomp-operator/seccomp-operator/test/differential"
)

// cost is what one program costs in the simulator.
type cost struct {
	mean, weighted float64 // over the workload syscalls (x86_64), zero args
	worst          int     // over every number 0..max+16 of every ABI
	length         int
}

func measure(t testing.TB, insns []bpf.RawInstruction, abis []*syscalls.Arch, work []Workload) cost {
	host := syscalls.MustGet(Host)
	c := cost{length: len(insns)}
	sum, wsum, n, wn := 0, 0.0, 0, 0.0
	for _, w := range work {
		nr, ok := host.Lookup(w.Name)
		if !ok {
			continue
		}
		r, err := ourbpf.Simulate(insns, ourbpf.Data{Nr: int32(nr), Arch: host.Audit})
		if err != nil {
			t.Fatal(err)
		}
		sum += r.Executed
		n++
		wsum += float64(r.Executed) * float64(w.Count)
		wn += float64(w.Count)
	}
	c.mean, c.weighted = float64(sum)/float64(n), wsum/wn
	for _, a := range abis {
		lo := 0
		if a.Name == "x32" {
			lo = syscalls.X32SyscallBit
		}
		for nr := lo; nr <= a.MaxNr()+16; nr++ {
			r, err := ourbpf.Simulate(insns, ourbpf.Data{Nr: int32(nr), Arch: a.Audit})
			if err != nil {
				t.Fatal(err)
			}
			c.worst = max(c.worst, r.Executed)
		}
	}
	return c
}

// TestInstructionReport asserts the instruction targets of docs/benchmarks.md
// for every profile there, and with -v prints its markdown table:
// go test -tags libseccomp -run TestInstructionReport -v ./bench/
// The simulator's counts are exact, so the targets are invariants of the
// compiler, not timings: make test runs this (make test-differential).
func TestInstructionReport(t *testing.T) {
	profs, err := Profiles("..")
	if err != nil {
		t.Fatal(err)
	}
	work, err := LoadWorkload("testdata/workload-syscalls.txt")
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| profile | ABIs | mean ours | mean libseccomp | ratio (≤ %.1f) | weighted mean ours / libseccomp | worst ours / libseccomp | length ours / libseccomp | targets met |\n", maxMeanRatio)
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|---|\n")
	for _, p := range profs {
		ours, err := ourbpf.Compile(p.Profile, ourbpf.Options{Arch: Host})
		if err != nil {
			t.Fatalf("%s: %v", p.Name, err)
		}
		lib, err := differential.Compile(p.Profile, Host)
		if err != nil {
			t.Fatalf("%s: libseccomp: %v", p.Name, err)
		}
		o := measure(t, ours.Instructions, ours.Arches, work)
		l := measure(t, lib.Instructions, lib.Arches, work)
		var abis []string
		for _, a := range ours.Arches {
			abis = append(abis, a.Name)
		}
		ratio := o.mean / l.mean
		met := true
		for _, target := range []struct {
			ok   bool
			what string
		}{
			{ratio <= maxMeanRatio, fmt.Sprintf("mean %.2f instructions per workload syscall, libseccomp's %.2f: ratio %.2f > %.2f", o.mean, l.mean, ratio, maxMeanRatio)},
			{o.worst <= l.worst, fmt.Sprintf("worst case %d instructions > libseccomp's %d", o.worst, l.worst)},
			{o.length <= l.length, fmt.Sprintf("program length %d > libseccomp's %d", o.length, l.length)},
		} {
			if !target.ok {
				met = false
				t.Errorf("%s: %s", p.Name, target.what)
			}
		}
		fmt.Fprintf(&b, "| %s | %s | %.2f | %.2f | %.2f | %.2f / %.2f | %d / %d | %d / %d | %s |\n",
			p.Name, strings.Join(abis, "+"), o.mean, l.mean, ratio, o.weighted, l.weighted, o.worst, l.worst, o.length, l.length, yes(met))
	}
	if testing.Verbose() {
		fmt.Print("\n" + b.String() + "\n")
	}
}

// maxMeanRatio is the target for our mean instructions per workload syscall
// as a fraction of libseccomp's.
const maxMeanRatio = 0.8

// BenchmarkInstructions reports the simulated instructions per workload
// syscall for Docker's default profile, ours and libseccomp's.
func BenchmarkInstructions(b *testing.B) {
	p, err := RuntimeDefault("..", "docker-default")
	if err != nil {
		b.Fatal(err)
	}
	work, err := LoadWorkload("testdata/workload-syscalls.txt")
	if err != nil {
		b.Fatal(err)
	}
	ours, err := ourbpf.Compile(p, ourbpf.Options{Arch: Host})
	if err != nil {
		b.Fatal(err)
	}
	lib, err := differential.Compile(p, Host)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		insns []bpf.RawInstruction
	}{{"ours", ours.Instructions}, {"libseccomp", lib.Instructions}} {
		b.Run(c.name, func(b *testing.B) {
			var m cost
			for i := 0; i < b.N; i++ {
				m = measure(b, c.insns, ours.Arches, work)
			}
			b.ReportMetric(m.mean, "insns/syscall")
			b.ReportMetric(float64(m.worst), "worst-insns")
			b.ReportMetric(float64(m.length), "length")
		})
	}
}

// BenchmarkCompile compiles Docker's default profile with both compilers
// (libseccomp: seccomp_init .. rules .. seccomp_export_bpf).
func BenchmarkCompile(b *testing.B) {
	p, err := RuntimeDefault("..", "docker-default")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("ours", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := ourbpf.Compile(p, ourbpf.Options{Arch: Host}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("libseccomp", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if _, err := differential.Compile(p, Host); err != nil {
				b.Fatal(err)
			}
		}
	})
}
