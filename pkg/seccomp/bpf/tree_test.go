package bpf

import (
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// treeDepth is the number of comparisons on the nr path of the native ABI
// for syscall nr: executed instructions minus ld arch, jeq arch, ld nr, ret.
func treeDepth(t *testing.T, prog *Program, nr int) int {
	return runNr(t, prog, x8664, nr).Executed - 4
}

func TestTreeShapes(t *testing.T) {
	t.Run("one run", func(t *testing.T) {
		// (On x86_64 the x32 range always makes more runs.)
		p := &profile.Profile{DefaultAction: profile.ActAllow}
		prog := agree(t, p, Options{Arch: "aarch64"})
		// ld arch; jeq; ret ALLOW; ret KILL_PROCESS — no nr load at all.
		if n := len(prog.Instructions); n != 4 {
			t.Errorf("length %d, want 4:\n%s", n, Disassemble(prog.Instructions))
		}
		if r := run1(t, prog, arm64, "read"); r.Ret != RetAllow || r.Executed != 3 {
			t.Errorf("read: %s in %d steps, want ALLOW in 3", RetString(r.Ret), r.Executed)
		}
	})
	t.Run("two runs", func(t *testing.T) {
		// Allowing syscalls 0..9 of x86_64 gives runs [0,9] and [10,max].
		var names []string
		for nr := 0; nr < 10; nr++ {
			n, _ := x8664.NameOf(nr)
			names = append(names, n)
		}
		p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{allow(names...)}}
		prog := agree(t, p, Options{Arch: "x86_64"})
		// Plus the x32 range (KILL_PROCESS) and -1: four runs in all.
		for _, nr := range []int{0, 9, 10, 500} {
			if d := treeDepth(t, prog, nr); d > 2+treeSlack {
				t.Errorf("nr %d: %d comparisons, want ≤ %d", nr, d, 2+treeSlack)
			}
		}
	})
	t.Run("400 runs", func(t *testing.T) {
		// Every other syscall allowed: ~ 2 runs per allowed one.
		var names []string
		for _, s := range x8664.Syscalls() {
			if s.Nr%2 == 0 && len(names) < 200 {
				names = append(names, s.Name)
			}
		}
		p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{allow(names...)}}
		prog := agree(t, p, Options{Arch: "x86_64"})
		limit := 9 + treeSlack // ceil(log2(~400 runs))
		for _, s := range x8664.Syscalls() {
			if d := treeDepth(t, prog, s.Nr); d > limit {
				t.Errorf("%s: %d comparisons, want ≤ %d", s.Name, d, limit)
			}
		}
	})
}

func TestFrequentSyscallsSitShallow(t *testing.T) {
	p := dockerLike()
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	st := measure(t, prog.Instructions, x8664)
	balanced := ceilLog2(countRuns(t, p)) + 4
	if st.mean >= float64(balanced) {
		t.Errorf("common syscalls take %.2f steps on average, no better than a balanced tree's %d", st.mean, balanced)
	}
}

func countRuns(t *testing.T, p *profile.Profile) int {
	c := &compiler{}
	c.defRet, _ = ActionRet(p.DefaultAction, p.DefaultErrnoRet)
	_, abis, err := selectABIs(p, "x86_64")
	if err != nil {
		t.Fatal(err)
	}
	var gs []*group
	for i, abi := range abis {
		rules, _, err := c.collect(p, abi, i, nameIDs(p))
		if err != nil {
			t.Fatal(err)
		}
		gs = addToGroup(gs, abi, rules)
	}
	rs, err := c.runs(gs[0])
	if err != nil {
		t.Fatal(err)
	}
	return len(rs)
}

// TestLongJumps compiles ~1500 argument rules: far more than a conditional
// jump's 255-instruction reach, so trampolines and RET copies are needed.
func TestLongJumps(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno}
	names := []string{"fcntl", "ioctl", "prctl", "socket", "personality", "dup3", "setsockopt", "getsockopt", "madvise", "mprotect"}
	for i := 0; i < 1500; i++ {
		// Mostly single equalities (long JEQ chains), every tenth rule
		// another operator with two comparisons.
		rule := profile.Syscall{Names: []string{names[i%len(names)]}, Action: profile.ActAllow,
			Args: []profile.Arg{{Index: uint(i % 3), Op: profile.OpEqualTo, Value: uint64(i)}}}
		if i%10 == 0 {
			op := profile.KnownOperators[(i/10)%len(profile.KnownOperators)]
			rule.Args = []profile.Arg{{Index: 0, Op: op, Value: uint64(i) * 0x1_0000_0001, ValueTwo: uint64(i)}, {Index: 4, Op: profile.OpNotEqual, Value: 7}}
		}
		p.Syscalls = append(p.Syscalls, rule)
	}
	p.Syscalls = append(p.Syscalls, allow("read", "write", "close"))
	prog, err := Compile(p, Options{Arch: "x86_64"})
	if err != nil {
		// The profile is big; the compiler must say so clearly if it is
		// over the kernel's limit, but this one should fit.
		t.Fatalf("Compile: %v", err)
	}
	if len(prog.Instructions) <= 255 {
		t.Fatalf("program has only %d instructions, the test needs long jumps", len(prog.Instructions))
	}
	var jas int
	for _, in := range prog.Instructions {
		if in.Op == opJa {
			jas++
		}
	}
	if jas == 0 {
		t.Errorf("no JA trampolines in a %d-instruction program", len(prog.Instructions))
	}
	var vecs [][6]uint64
	for i := uint64(0); i < 1500; i += 3 {
		for _, v := range []uint64{i, i * 0x1_0000_0001, i*0x1_0000_0001 + 1} {
			vecs = append(vecs, [6]uint64{v, v, v, v, 7, v}, [6]uint64{v, v, v, v, 8, v})
		}
	}
	if m := mismatch(t, p, prog, map[string]bool{"read": true, "fcntl": true, "dup3": true, "mprotect": true, "open": true}, vecs); m != "" {
		t.Fatal(m[:min(len(m), 2000)])
	}
	t.Logf("%d rules → %d instructions", len(p.Syscalls), len(prog.Instructions))
}

func TestTooLong(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno}
	for i := 0; i < 3000; i++ {
		p.Syscalls = append(p.Syscalls, profile.Syscall{Names: []string{"ioctl"}, Action: profile.ActAllow,
			Args: []profile.Arg{{Index: 1, Op: profile.OpGreaterThan, Value: uint64(i) << 33}, {Index: 2, Op: profile.OpLessThan, Value: uint64(i)}}})
	}
	_, err := Compile(p, Options{Arch: "x86_64"})
	want := "more than the kernel's limit of 4096"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("Compile error = %v, want %q", err, want)
	}
}
