package bpf

import (
	"fmt"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

const (
	max32 = 1<<32 - 1
	max64 = ^uint64(0)
)

// opCase: does arg satisfy (op, value, valueTwo)? want64 on 64-bit ABIs,
// want32 on 32-bit ones (low words only, as libseccomp).
type opCase struct {
	op             profile.Operator
	value, value2  uint64
	arg            uint64
	want64, want32 bool
}

var opCases = []opCase{
	{profile.OpEqualTo, 0, 0, 0, true, true},
	{profile.OpEqualTo, 0, 0, 1, false, false},
	{profile.OpEqualTo, 0, 0, 1 << 32, false, true}, // differs only in the high word
	{profile.OpEqualTo, 1 << 32, 0, 0, false, true},
	{profile.OpEqualTo, max32, 0, max32, true, true},
	{profile.OpEqualTo, max64, 0, max64, true, true},
	{profile.OpEqualTo, max64, 0, max32, false, true},
	{profile.OpEqualTo, 1 << 63, 0, 1 << 63, true, true},
	{profile.OpNotEqual, 2, 0, 2, false, false},
	{profile.OpNotEqual, 2, 0, 3, true, true},
	{profile.OpNotEqual, 2, 0, 2 | 1<<32, true, false},
	{profile.OpNotEqual, max64, 0, max32, true, false},
	{profile.OpLessThan, 2, 0, 1, true, true},
	{profile.OpLessThan, 2, 0, 2, false, false},
	{profile.OpLessThan, 0, 0, 0, false, false},
	{profile.OpLessThan, 1 << 32, 0, max32, true, false},
	{profile.OpLessThan, 1 << 32, 0, 1 << 32, false, false},
	{profile.OpLessThan, 1 << 63, 0, 1<<63 - 1, true, false},
	{profile.OpLessThan, max64, 0, 1 << 63, true, true},
	{profile.OpLessThan, 5, 0, 1<<32 | 1, false, true},
	{profile.OpLessEqual, 2, 0, 2, true, true},
	{profile.OpLessEqual, 2, 0, 3, false, false},
	{profile.OpLessEqual, max64, 0, max64, true, true},
	{profile.OpLessEqual, 1 << 32, 0, 1<<32 + 1, false, false},
	{profile.OpLessEqual, 1 << 32, 0, 0, true, true},
	{profile.OpGreaterThan, 2, 0, 3, true, true},
	{profile.OpGreaterThan, 2, 0, 2, false, false},
	{profile.OpGreaterThan, max32, 0, 1 << 32, true, false},
	{profile.OpGreaterThan, 0, 0, 1 << 32, true, false},
	{profile.OpGreaterThan, max64, 0, max64, false, false},
	{profile.OpGreaterThan, 1 << 32, 0, 1<<32 + 1, true, true},
	{profile.OpGreaterThan, 1<<32 | 5, 0, 2<<32 | 1, true, false},
	{profile.OpGreaterEqual, 2, 0, 2, true, true},
	{profile.OpGreaterEqual, 2, 0, 1, false, false},
	{profile.OpGreaterEqual, 0, 0, 0, true, true},
	{profile.OpGreaterEqual, 1 << 63, 0, 1<<63 - 1, false, true},
	{profile.OpGreaterEqual, max64, 0, max64, true, true},
	{profile.OpMaskedEqual, 0xff, 0x12, 0x1234_5612, true, true},
	{profile.OpMaskedEqual, 0xff, 0x12, 0x1234_5613, false, false},
	{profile.OpMaskedEqual, 0xff << 32, 0x12 << 32, 0x12<<32 | 7, true, true},
	{profile.OpMaskedEqual, 0xff << 32, 0x12 << 32, 0x13 << 32, false, true},
	{profile.OpMaskedEqual, 0, 0, max64, true, true},
	{profile.OpMaskedEqual, max64, 1 << 32, 1 << 32, true, true},
	{profile.OpMaskedEqual, max64, 1 << 32, 0, false, true},
	// libseccomp masks the expected value too: bits of valueTwo outside
	// the mask do not matter.
	{profile.OpMaskedEqual, 0x0f, 0xf3, 0x03, true, true},
	{profile.OpMaskedEqual, 1 << 63, 1 << 63, max64, true, true},
}

func TestArgOps(t *testing.T) {
	for _, abi := range []*syscalls.Arch{x8664, x86, x32, arm64, arm} {
		native := abi.Native
		for i, tc := range opCases {
			for idx := uint(0); idx < 6; idx += 5 {
				t.Run(fmt.Sprintf("%s/%d/%s/arg%d", abi.Name, i, tc.op, idx), func(t *testing.T) {
					p := &profile.Profile{
						DefaultAction: profile.ActErrno,
						Architectures: []string{abi.SCMP()},
						Syscalls: []profile.Syscall{{Names: []string{"dup3"}, Action: profile.ActAllow,
							Args: []profile.Arg{{Index: idx, Op: tc.op, Value: tc.value, ValueTwo: tc.value2}}}},
					}
					prog := mustCompile(t, p, Options{Arch: native})
					var args [6]uint64
					args[idx] = tc.arg
					args[5-idx] = ^tc.arg // the other args must not matter
					got := run1(t, prog, abi, "dup3", args[:]...).Ret == RetAllow
					want := tc.want64
					if abi.Bits == 32 {
						want = tc.want32
					}
					if got != want {
						t.Errorf("%s(%#x, %#x) on arg %#x: program says %t, want %t\n%s", tc.op, tc.value, tc.value2, tc.arg, got, want, Disassemble(prog.Instructions))
					}
					act, _, err := profile.Evaluate(p, abi, mustNr(t, abi, "dup3"), args)
					if err != nil || (act == profile.ActAllow) != want {
						t.Errorf("Evaluate says %s, %v; want allow=%t", act, err, want)
					}
				})
			}
		}
	}
}

func mustNr(t testing.TB, abi *syscalls.Arch, name string) int {
	t.Helper()
	nr, ok := abi.Lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", abi.Name, name)
	}
	return nr
}

// TestBigEndianArgs checks that the program loads the right argument halves
// on a big-endian ABI (s390x) — the simulator lays data out in that order.
func TestBigEndianArgs(t *testing.T) {
	s390x := syscalls.MustGet("s390x")
	if !s390x.HasTable {
		t.Skip("no s390x table")
	}
	p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{{Names: []string{"dup3"}, Action: profile.ActAllow,
		Args: []profile.Arg{{Index: 2, Op: profile.OpEqualTo, Value: 1<<32 | 2}}}}}
	prog := agree(t, p, Options{Arch: "s390x"})
	if got := run1(t, prog, s390x, "dup3", 0, 0, 1<<32|2).Ret; got != RetAllow {
		t.Errorf("got %s, want ALLOW", RetString(got))
	}
	if got := run1(t, prog, s390x, "dup3", 0, 0, 2<<32|1).Ret; got != RetErrno|1 {
		t.Errorf("swapped halves: got %s, want ERRNO", RetString(got))
	}
}

func TestRulesOrArgsAnd(t *testing.T) {
	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Syscalls: []profile.Syscall{
			{Names: []string{"fcntl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 1}}},
			{Names: []string{"fcntl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 2}, {Index: 2, Op: profile.OpGreaterEqual, Value: 10}}},
			{Names: []string{"fcntl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 1}}}, // duplicate
			{Names: []string{"dup3", "personality"}, Action: profile.ActErrno, ErrnoRet: uptr(5), Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: max32}}},
			// An unconditional rule decides however many conditional ones exist.
			{Names: []string{"socket"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 1}}},
			allow("socket"),
		},
	}
	prog := agree(t, p, Options{Arch: "x86_64"})
	for _, tc := range []struct {
		name string
		args []uint64
		want uint32
	}{
		{"fcntl", []uint64{0, 1, 0}, RetAllow},
		{"fcntl", []uint64{0, 2, 10}, RetAllow},
		{"fcntl", []uint64{0, 2, 9}, RetErrno | 1},
		{"fcntl", []uint64{0, 3, 10}, RetErrno | 1},
		{"dup3", []uint64{max32}, RetErrno | 5},
		{"personality", []uint64{max32}, RetErrno | 5},
		{"personality", []uint64{0}, RetErrno | 1},
		{"socket", []uint64{7}, RetAllow},
	} {
		if got := run1(t, prog, x8664, tc.name, tc.args...).Ret; got != tc.want {
			t.Errorf("%s%v: got %s, want %s", tc.name, tc.args, RetString(got), RetString(tc.want))
		}
	}
}
