package profile

import (
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func u(v uint) *uint { return &v }

func nrOf(t *testing.T, arch, name string) int {
	t.Helper()
	nr, ok := syscalls.MustGet(arch).Lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	return nr
}

func TestEvaluate(t *testing.T) {
	p := &Profile{
		DefaultAction:   ActErrno,
		DefaultErrnoRet: u(38),
		Architectures:   []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		Syscalls: []Syscall{
			{Names: []string{"read", "write"}, Action: ActAllow},
			{Names: []string{"fcntl"}, Action: ActAllow, Args: []Arg{{Index: 1, Op: OpEqualTo, Value: 1}}},
			{Names: []string{"fcntl"}, Action: ActAllow, Args: []Arg{{Index: 1, Op: OpEqualTo, Value: 2}, {Index: 2, Op: OpGreaterThan, Value: 1 << 32}}},
			{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Op: OpEqualTo, Value: 1}}},
			{Names: []string{"socket"}, Action: ActAllow},
			{Names: []string{"ptrace"}, Action: ActKill},
			{Names: []string{"chroot"}, Action: ActTrace},
			{Names: []string{"mkdirat"}, Action: ActErrno, ErrnoRet: u(13)},
			{Names: []string{"clone"}, Action: ActAllow, Args: []Arg{{Index: 0, Op: OpMaskedEqual, Value: 0x7e020000, ValueTwo: 0}}},
			{Names: []string{"dup3"}, Action: ActLog, Args: []Arg{{Index: 0, Op: OpLessThan, Value: 1 << 32}}},
		},
	}
	type args = [6]uint64
	for _, tc := range []struct {
		arch, name string
		args       args
		act        Action
		data       uint
	}{
		{"x86_64", "read", args{}, ActAllow, 0},
		{"x86", "write", args{}, ActAllow, 0},
		{"x86_64", "open", args{}, ActErrno, 38},
		{"x86_64", "fcntl", args{0, 1}, ActAllow, 0},
		{"x86_64", "fcntl", args{0, 2, 1<<32 + 1}, ActAllow, 0},
		{"x86_64", "fcntl", args{0, 2, 1 << 32}, ActErrno, 38},
		{"x86_64", "fcntl", args{0, 1 | 1<<32}, ActErrno, 38},
		// On x86 only the low words count: 1<<32|1 is 1, 1<<32+1 > 1<<32 is 1 > 0.
		{"x86", "fcntl", args{0, 1 | 1<<32}, ActAllow, 0},
		{"x86", "fcntl", args{0, 2, 1}, ActAllow, 0},
		{"x86", "fcntl", args{0, 2, 0}, ActErrno, 38},
		{"x86_64", "socket", args{7}, ActAllow, 0},
		{"x86_64", "ptrace", args{}, ActKillThread, 0},
		{"x86_64", "chroot", args{}, ActTrace, 1},
		{"x86_64", "mkdirat", args{}, ActErrno, 13},
		{"x86_64", "clone", args{0x11}, ActAllow, 0},
		{"x86_64", "clone", args{0x10000000}, ActErrno, 38},
		{"x86_64", "dup3", args{1<<32 - 1}, ActLog, 0},
		{"x86_64", "dup3", args{1 << 32}, ActErrno, 38},
		{"x86", "dup3", args{1 << 32}, ActErrno, 38}, // 0 < 0 on the low words
		{"x32", "read", args{}, ActKillProcess, 0},   // x32 not admitted
	} {
		arch := syscalls.MustGet(tc.arch)
		nr := nrOf(t, tc.arch, tc.name)
		act, data, err := Evaluate(p, arch, nr, tc.args)
		if err != nil || act != tc.act || data != tc.data {
			t.Errorf("%s %s%v: got %s %d %v, want %s %d", tc.arch, tc.name, tc.args, act, data, err, tc.act, tc.data)
		}
	}
}

func TestEvaluateMaskedEqualMasksValueTwo(t *testing.T) {
	// libseccomp compares (arg & mask) with (valueTwo & mask).
	p := &Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"dup3"}, Action: ActAllow,
		Args: []Arg{{Index: 0, Op: OpMaskedEqual, Value: 0x0f, ValueTwo: 0xf3}}}}}
	act, _, err := Evaluate(p, syscalls.MustGet("x86_64"), nrOf(t, "x86_64", "dup3"), [6]uint64{0x03})
	if err != nil || act != ActAllow {
		t.Errorf("got %s, %v; want allow", act, err)
	}
}

func TestEvaluateArchitectures(t *testing.T) {
	x64, x32 := syscalls.MustGet("x86_64"), syscalls.MustGet("x32")
	rules := []Syscall{{Names: []string{"read"}, Action: ActAllow}}
	bit := syscalls.X32SyscallBit
	for _, tc := range []struct {
		arches []string
		arch   *syscalls.Arch
		nr     int
		want   Action
	}{
		{nil, x64, nrOf(t, "x86_64", "read"), ActAllow},   // native only
		{nil, syscalls.MustGet("x86"), 3, ActKillProcess}, // compat not admitted
		{nil, x64, bit + 5, ActKillProcess},               // x32 range
		{nil, x64, -1, ActErrno},                          // tracers' skip
		{nil, x64, 0x80000000, ActKillProcess},            // JGE, not JSET
		{[]string{"SCMP_ARCH_X32"}, x32, nrOf(t, "x32", "read"), ActAllow},
		{[]string{"SCMP_ARCH_X32"}, x64, nrOf(t, "x86_64", "read"), ActKillProcess},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, x64, nrOf(t, "x32", "read"), ActAllow},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, x64, bit + 999, ActErrno},
		{[]string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}, syscalls.MustGet("arm"), nrOf(t, "arm", "read"), ActAllow},
		{[]string{"SCMP_ARCH_AARCH64"}, syscalls.MustGet("arm"), nrOf(t, "arm", "read"), ActKillProcess},
	} {
		p := &Profile{DefaultAction: ActErrno, Architectures: tc.arches, Syscalls: rules}
		act, _, err := Evaluate(p, tc.arch, tc.nr, [6]uint64{})
		if err != nil || act != tc.want {
			t.Errorf("%v %s nr %#x: got %s, %v; want %s", tc.arches, tc.arch.Name, tc.nr, act, err, tc.want)
		}
	}
}

func TestEvaluateErrors(t *testing.T) {
	x64 := syscalls.MustGet("x86_64")
	read := nrOf(t, "x86_64", "read")
	for name, tc := range map[string]struct {
		p    *Profile
		want string
	}{
		"conflict":       {&Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActAllow, Args: []Arg{{Index: 0, Op: OpEqualTo}}}, {Names: []string{"read"}, Action: ActLog, Args: []Arg{{Index: 1, Op: OpEqualTo}}}}}, "conflicting rules: syscalls[0] and syscalls[1]"},
		"errno conflict": {&Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActErrno, Args: []Arg{{Index: 0, Op: OpEqualTo}}}, {Names: []string{"read"}, Action: ActErrno, ErrnoRet: u(5), Args: []Arg{{Index: 0, Op: OpEqualTo}}}}}, "conflicting rules"},
		"errnoRet":       {&Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActAllow, ErrnoRet: u(1)}}}, "errnoRet set on action SCMP_ACT_ALLOW"},
		"action":         {&Profile{DefaultAction: "SCMP_ACT_NOPE"}, `unknown action "SCMP_ACT_NOPE"`},
		"op":             {&Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActAllow, Args: []Arg{{Op: "SCMP_CMP_X"}}}}}, `unknown operator "SCMP_CMP_X"`},
		"index":          {&Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActAllow, Args: []Arg{{Index: 6, Op: OpEqualTo}}}}}, "index 6 out of range"},
		"arch":           {&Profile{DefaultAction: ActErrno, Architectures: []string{"SCMP_ARCH_VAX"}}, `unknown architecture "SCMP_ARCH_VAX"`},
	} {
		_, _, err := Evaluate(tc.p, x64, read, [6]uint64{})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want %q", name, err, tc.want)
		}
	}
}

// TestEvaluateFirstUnconditionalWins: like libseccomp, the first rule naming
// a syscall without comparisons decides it (CRI-O's default profile lists
// setns both in its allow list and in a later deny rule).
func TestEvaluateFirstUnconditionalWins(t *testing.T) {
	x64 := syscalls.MustGet("x86_64")
	setns := nrOf(t, "x86_64", "setns")
	for _, tc := range []struct {
		rules []Syscall
		want  Action
	}{
		{[]Syscall{{Names: []string{"setns"}, Action: ActAllow}, {Names: []string{"setns"}, Action: ActErrno}}, ActAllow},
		{[]Syscall{{Names: []string{"setns"}, Action: ActErrno}, {Names: []string{"setns"}, Action: ActAllow}}, ActErrno},
		// A conditional rule before or after does not matter either.
		{[]Syscall{{Names: []string{"setns"}, Action: ActLog, Args: []Arg{{Index: 1, Op: OpEqualTo}}}, {Names: []string{"setns"}, Action: ActTrap}}, ActTrap},
		{[]Syscall{{Names: []string{"setns"}, Action: ActTrap}, {Names: []string{"setns"}, Action: ActLog, Args: []Arg{{Index: 1, Op: OpEqualTo}}}}, ActTrap},
		// Conflicting conditional rules are fine when an unconditional one follows.
		{[]Syscall{
			{Names: []string{"setns"}, Action: ActLog, Args: []Arg{{Index: 1, Op: OpEqualTo}}},
			{Names: []string{"setns"}, Action: ActTrap, Args: []Arg{{Index: 1, Op: OpEqualTo}}},
			{Names: []string{"setns"}, Action: ActAllow},
		}, ActAllow},
	} {
		p := &Profile{DefaultAction: ActKillProcess, Syscalls: tc.rules}
		act, _, err := Evaluate(p, x64, setns, [6]uint64{})
		if err != nil || act != tc.want {
			t.Errorf("%+v: got %s, %v; want %s", tc.rules, act, err, tc.want)
		}
	}
}
