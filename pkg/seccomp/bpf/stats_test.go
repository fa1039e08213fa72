package bpf

import (
	"testing"

	"golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// commonSyscalls is the workload mix the instruction-count checks use.
var commonSyscalls = []string{"read", "write", "futex", "epoll_wait", "epoll_ctl", "recvfrom", "sendto",
	"close", "openat", "fstat", "mmap", "munmap", "mprotect", "brk", "rt_sigaction", "rt_sigprocmask",
	"nanosleep", "clock_gettime", "getpid", "lseek", "ioctl", "fcntl", "pread64", "writev", "madvise",
	"sched_yield", "accept4", "newfstatat", "getrandom", "exit_group"}

type stats struct {
	mean         float64
	worst, total int
}

// measure runs insns for the common syscalls (mean) and for every number of
// every ABI in the family with a few argument vectors (worst).
func measure(t testing.TB, insns []bpf.RawInstruction, native *syscalls.Arch) stats {
	t.Helper()
	st := stats{total: len(insns)}
	var sum, n int
	for _, name := range commonSyscalls {
		if nr, ok := native.Lookup(name); ok {
			r := mustSim(t, insns, Data{Nr: int32(nr), Arch: native.Audit})
			sum += r.Executed
			n++
		}
	}
	st.mean = float64(sum) / float64(n)
	vecs := [][6]uint64{{}, {1, 1, 1, 1, 1, 1}, {^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0), ^uint64(0)}, {0x20008, 0x7e020000, 40, 0, 0, 0}}
	for _, abi := range syscalls.Family(native.Name) {
		for _, nr := range probeNumbers(abi, nil) {
			for _, v := range vecs {
				r := mustSim(t, insns, Data{Nr: int32(nr), Arch: abi.Audit, Args: v})
				st.worst = max(st.worst, r.Executed)
			}
		}
	}
	return st
}

func mustSim(t testing.TB, insns []bpf.RawInstruction, d Data) Result {
	t.Helper()
	r, err := Simulate(insns, d)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestDockerLikeCost bounds the cost of a Docker-like profile: the floor
// for R runs is 4 + ceil(log2 R) steps (load arch, check it, load nr, the
// tree, return). The bounds are what this compiler achieves, so a change
// that makes programs slower or longer fails here.
func TestDockerLikeCost(t *testing.T) {
	prog := mustCompile(t, dockerLike(), Options{Arch: "x86_64"})
	st := measure(t, prog.Instructions, x8664)
	t.Logf("docker-like x86_64: mean %.2f over common syscalls, worst %d, length %d", st.mean, st.worst, st.total)
	if st.mean > 8.5 || st.worst > 21 || st.total > 300 {
		t.Errorf("docker-like program got slower or longer: mean %.2f (want ≤ 8.5), worst %d (want ≤ 21), length %d (want ≤ 300)", st.mean, st.worst, st.total)
	}
}
