//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// childEnv makes the test binary a timing child: "unconfined", "allowall"
// (a one-instruction RET ALLOW filter: seccomp's fixed per-syscall cost,
// the floor any filter pays) or "filtered" (our Docker default program).
const childEnv = "SECCOMP_BENCH_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// kinds are the timed syscalls under Docker's default profile: an arg-free
// allowed one, one allowed by an argument rule (personality(0xffffffff)
// only queries), and one it denies with ERRNO (syslog needs CAP_SYSLOG,
// which Docker's default capability set lacks; SIZE_BUFFER only reads).
// TestSyscallCostKinds asserts wantErrno and cached on the program itself,
// so the timings are read against what the kernel really does.
var kinds = []struct {
	name      string
	nr        uintptr
	a0, a1    uintptr
	wantErrno unix.Errno // under the filter
	cached    bool       // the kernel's action cache allows it without running the program
}{
	{"getppid (allowed, no args)", unix.SYS_GETPPID, 0, 0, 0, true},
	{"personality(0xffffffff) (allowed by arg rule)", unix.SYS_PERSONALITY, 0xffffffff, 0, 0, false},
	{"syslog(SIZE_BUFFER) (denied, ERRNO)", unix.SYS_SYSLOG, 10, 0, unix.EPERM, false},
}

// filteredProgram is the program the "filtered" child installs: ours for
// Docker's default profile.
func filteredProgram() (*ourbpf.Program, error) {
	p, err := RuntimeDefault("..", "docker-default")
	if err != nil {
		return nil, err
	}
	return ourbpf.Compile(p, ourbpf.Options{Arch: Host})
}

const iters = 200000

// child times each kind on the locked thread that (for "filtered") carries
// the filter, interleaving kinds over 7 repetitions, and prints the median
// ns/op of each as "ns <kind index> <value>".
func child(mode string) error {
	runtime.LockOSThread() // never unlocked: the thread carries the filter
	if mode == "allowall" {
		allow := []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: ourbpf.RetAllow}}
		if _, err := filter.Install(allow, 0); err != nil {
			return err
		}
	}
	if mode == "filtered" {
		prog, err := filteredProgram()
		if err != nil {
			return err
		}
		if _, err := filter.Install(prog.Instructions, prog.Flags); err != nil {
			return err
		}
	}
	for _, k := range kinds {
		_, _, e := unix.RawSyscall(k.nr, k.a0, k.a1, 0)
		want := unix.Errno(0)
		if mode == "filtered" {
			want = k.wantErrno
		}
		if e != want {
			return fmt.Errorf("%s %s: errno %v, want %v", mode, k.name, e, want)
		}
	}
	samples := make([][]float64, len(kinds))
	for rep := 0; rep < 7; rep++ {
		for i, k := range kinds {
			start := time.Now()
			for j := 0; j < iters; j++ {
				unix.RawSyscall(k.nr, k.a0, k.a1, 0)
			}
			samples[i] = append(samples[i], float64(time.Since(start).Nanoseconds())/iters)
		}
	}
	for i := range kinds {
		fmt.Printf("ns %d %f\n", i, median(samples[i]))
	}
	return nil
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// runChildren runs `rounds` rounds of one child per mode, rotating which
// goes first, and returns per kind the median ns/op of each mode.
func runChildren(t testing.TB, rounds int) (unconf, allow, filt []float64) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][][]float64{}
	for r := 0; r < rounds; r++ {
		modes := []string{"unconfined", "allowall", "filtered"}
		order := append(modes[r%3:], modes[:r%3]...)
		for _, mode := range order {
			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), childEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("%s child: %v\n%s", mode, err, out)
			}
			vals := make([]float64, len(kinds))
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				var i int
				var v float64
				if _, err := fmt.Sscanf(line, "ns %d %f", &i, &v); err == nil && i < len(kinds) {
					vals[i] = v
				}
			}
			got[mode] = append(got[mode], vals)
		}
	}
	col := func(mode string, i int) float64 {
		var v []float64
		for _, s := range got[mode] {
			v = append(v, s[i])
		}
		return median(v)
	}
	for i := range kinds {
		unconf = append(unconf, col("unconfined", i))
		allow = append(allow, col("allowall", i))
		filt = append(filt, col("filtered", i))
	}
	return unconf, allow, filt
}

// TestSyscallCost prints the markdown table of docs/benchmarks.md:
// SECCOMP_BENCH=1 go test -run TestSyscallCost -v ./bench/
// It takes ~30 s, so plain `go test ./...` skips it. It still fails if a
// filtered child does not see the filter's verdicts (errno check in child).
func TestSyscallCost(t *testing.T) {
	if os.Getenv("SECCOMP_BENCH") == "" {
		t.Skip("timing test: set SECCOMP_BENCH=1")
	}
	u, a, f := runChildren(t, 9)
	fmt.Printf("\n| syscall | unconfined ns/op | allow-all filter ns/op | our Docker-default program ns/op | ours / unconfined | ours / allow-all | target (ours / unconfined ≤ 1.05) |\n|---|---|---|---|---|---|---|\n")
	for i, k := range kinds {
		target := ""
		if i == 0 {
			target = yes(f[i]/u[i] <= 1.05)
		}
		fmt.Printf("| %s | %.1f | %.1f | %.1f | %.3f | %.3f | %s |\n", k.name, u[i], a[i], f[i], f[i]/u[i], f[i]/a[i], target)
	}
	fmt.Println()
}

// TestSyscallCostKinds checks, without timing anything, what the table of
// TestSyscallCost is read against: the filtered program's verdict for each
// kind, and which kinds the kernel's action cache decides without running
// the program (the reason an arg-free allowed syscall costs no more than
// under a one-instruction filter).
func TestSyscallCostKinds(t *testing.T) {
	prog, err := filteredProgram()
	if err != nil {
		t.Fatal(err)
	}
	host := syscalls.MustGet(Host)
	for _, k := range kinds {
		r, err := ourbpf.Simulate(prog.Instructions, ourbpf.Data{Nr: int32(k.nr), Arch: host.Audit, Args: [6]uint64{uint64(k.a0), uint64(k.a1)}})
		if err != nil {
			t.Fatal(err)
		}
		want := uint32(ourbpf.RetAllow)
		if k.wantErrno != 0 {
			want = ourbpf.RetErrno | uint32(k.wantErrno)
		}
		if r.Ret != want {
			t.Errorf("%s: the program returns %#x, want %#x", k.name, r.Ret, want)
		}
		if got := ourbpf.KernelCachesAllow(prog.Instructions, int32(k.nr), host.Audit); got != k.cached {
			t.Errorf("%s: the kernel's action cache allows it without the program: %t, want %t", k.name, got, k.cached)
		}
	}
}

// BenchmarkSyscallCost reports the filtered/unconfined ratio per kind.
func BenchmarkSyscallCost(b *testing.B) {
	var u, a, f []float64
	for i := 0; i < b.N; i++ {
		u, a, f = runChildren(b, 3)
	}
	b.ReportMetric(f[0]/a[0], "ratio-getppid-vs-allowall")
	b.ReportMetric(f[0]/u[0], "ratio-getppid")
	b.ReportMetric(f[1]/u[1], "ratio-argrule")
	b.ReportMetric(f[2]/u[2], "ratio-denied")
	b.ReportMetric(u[0], "ns-getppid-unconfined")
	b.ReportMetric(f[0], "ns-getppid-filtered")
}
