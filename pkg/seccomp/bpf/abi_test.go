package bpf

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func TestX32(t *testing.T) {
	rules := []profile.Syscall{
		allow("read", "write"),
		{Names: []string{"dup3"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 2, Op: profile.OpEqualTo, Value: 1<<32 | 5}}},
	}
	bit := syscalls.X32SyscallBit
	for _, tc := range []struct {
		arches []string
		nr     int
		args   []uint64
		want   uint32
	}{
		// x32 listed: its numbers are runs of the same tree.
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, mustNr(t, x32, "read"), nil, RetAllow},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, mustNr(t, x32, "getpid"), nil, RetErrno | 1},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, bit + 5000, nil, RetErrno | 1},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, -1, nil, RetErrno | 1},
		// x32 is a 32-bit ABI: only the low word of the value counts.
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, mustNr(t, x32, "dup3"), []uint64{0, 0, 5}, RetAllow},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, mustNr(t, x8664, "dup3"), []uint64{0, 0, 5}, RetErrno | 1},
		{[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X32"}, mustNr(t, x8664, "dup3"), []uint64{0, 0, 1<<32 | 5}, RetAllow},
		// x32 not listed: libseccomp kills numbers ≥ the x32 bit except -1.
		{[]string{"SCMP_ARCH_X86_64"}, mustNr(t, x32, "read"), nil, RetKillProcess},
		{[]string{"SCMP_ARCH_X86_64"}, bit, nil, RetKillProcess},
		{[]string{"SCMP_ARCH_X86_64"}, -2, nil, RetKillProcess},
		{[]string{"SCMP_ARCH_X86_64"}, -1, nil, RetErrno | 1},
		{[]string{"SCMP_ARCH_X86_64"}, bit - 1, nil, RetErrno | 1},
		// x32 without x86_64: numbers below the bit are a bad arch.
		{[]string{"SCMP_ARCH_X32"}, mustNr(t, x8664, "read"), nil, RetKillProcess},
		{[]string{"SCMP_ARCH_X32"}, mustNr(t, x32, "read"), nil, RetAllow},
		{[]string{"SCMP_ARCH_X32"}, -1, nil, RetErrno | 1},
	} {
		p := &profile.Profile{DefaultAction: profile.ActErrno, Architectures: tc.arches, Syscalls: rules}
		prog := agree(t, p, Options{Arch: "x86_64"})
		if got := runNr(t, prog, x8664, tc.nr, tc.args...).Ret; got != tc.want {
			t.Errorf("%v nr %#x args %v: got %s, want %s", tc.arches, tc.nr, tc.args, RetString(got), RetString(tc.want))
		}
	}
}

func TestCompatABIs(t *testing.T) {
	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
		Syscalls: []profile.Syscall{
			allow("read", "arch_prctl", "socketcall", "_llseek"),
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 0xffffffff}}},
		},
	}
	for _, native := range []string{"x86_64", "aarch64"} {
		prog := agree(t, p, Options{Arch: native})
		if len(prog.Arches) != 2 {
			t.Errorf("%s: Arches = %v, want native + compat", native, archNames(prog.Arches))
		}
	}
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	if got, ok := prog.Skipped["x86"]; ok {
		t.Errorf("Skipped[x86] = %v, want no entry (x86 has all four)", got)
	}
	if got := prog.Skipped["x86_64"]; len(got) != 2 || got[0] != "_llseek" || got[1] != "socketcall" {
		t.Errorf("Skipped[x86_64] = %v, want [_llseek socketcall]", got)
	}
	for _, abi := range []*syscalls.Arch{x8664, x86} {
		if got := run1(t, prog, abi, "personality", 0xffffffff).Ret; got != RetAllow {
			t.Errorf("%s personality(0xffffffff): %s", abi.Name, RetString(got))
		}
	}
}

func TestNotify(t *testing.T) {
	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		Syscalls: []profile.Syscall{
			allow("read"),
			{Names: []string{"uname"}, Action: profile.ActLog},
			{Names: []string{"ptrace"}, Action: profile.ActKillProcess},
			{Names: []string{"mkdirat"}, Action: profile.ActErrno, ErrnoRet: uptr(13)},
			{Names: []string{"dup3"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 3}}},
			{Names: []string{"fcntl"}, Action: profile.ActTrap, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 3}}},
		},
	}
	prog := mustCompile(t, p, Options{Arch: "x86_64", Notify: true})
	if prog.Flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
		t.Errorf("Flags %#x lack NEW_LISTENER", prog.Flags)
	}
	for _, tc := range []struct {
		abi  *syscalls.Arch
		name string
		args []uint64
		want uint32
	}{
		{x8664, "read", nil, RetAllow},
		{x8664, "uname", nil, RetLog},
		{x8664, "ptrace", nil, RetUserNotif},
		{x8664, "mkdirat", nil, RetUserNotif},
		{x8664, "open", nil, RetUserNotif}, // default action
		{x86, "open", nil, RetUserNotif},
		{x8664, "dup3", []uint64{3}, RetAllow},
		{x8664, "dup3", []uint64{4}, RetUserNotif},
		{x8664, "fcntl", []uint64{0, 3}, RetUserNotif},
		{x32, "read", nil, RetKillProcess}, // bad arch stays a kill
	} {
		if got := run1(t, prog, tc.abi, tc.name, tc.args...).Ret; got != tc.want {
			t.Errorf("%s %s%v: got %s, want %s", tc.abi.Name, tc.name, tc.args, RetString(got), RetString(tc.want))
		}
	}
	if got := runNr(t, prog, arm64, 63).Ret; got != RetKillProcess {
		t.Errorf("foreign arch: got %s, want KILL_PROCESS", RetString(got))
	}
}

func TestFlags(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActAllow, Flags: []string{profile.FlagLog, profile.FlagSpecAllow, profile.FlagTSync}}
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	want := uint(unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW | unix.SECCOMP_FILTER_FLAG_TSYNC)
	if prog.Flags != want {
		t.Errorf("Flags = %#x, want %#x", prog.Flags, want)
	}
	for _, f := range profile.KnownFlags {
		if _, ok := flagBits[f]; !ok {
			t.Errorf("known flag %s has no bit", f)
		}
	}
}

// TestSocketcallMultiplexer: on x86 libseccomp also filters socketcall(2)
// (and ipc(2)) for rules on socket (IPC) syscalls, with argument 0 the call
// number; a rule's own comparisons on argument 0 are dropped there.
func TestSocketcallMultiplexer(t *testing.T) {
	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		Syscalls: []profile.Syscall{
			allow("socket", "send", "semop"),
			{Names: []string{"bind"}, Action: profile.ActErrno, ErrnoRet: uptr(9)},
			{Names: []string{"connect"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 3}, {Index: 2, Op: profile.OpLessThan, Value: 16}}},
		},
	}
	prog := agree(t, p, Options{Arch: "x86_64"})
	for _, tc := range []struct {
		name string
		args []uint64
		want uint32
	}{
		{"socketcall", []uint64{1}, RetAllow},            // SYS_SOCKET
		{"socketcall", []uint64{9}, RetAllow},            // SYS_SEND: no direct send on x86
		{"socketcall", []uint64{2}, RetErrno | 9},        // SYS_BIND
		{"socketcall", []uint64{3, 0, 8}, RetAllow},      // SYS_CONNECT, arg 2 kept, arg 0 replaced
		{"socketcall", []uint64{3, 0, 16}, RetErrno | 1}, // arg 2 fails
		{"socketcall", []uint64{4}, RetErrno | 1},        // SYS_LISTEN: no rule
		{"ipc", []uint64{1}, RetAllow},                   // SEMOP
		{"ipc", []uint64{2}, RetErrno | 1},               // SEMGET
		{"socket", nil, RetAllow},                        // direct socket syscall
		{"connect", []uint64{3, 0, 8}, RetAllow},         // direct: arg 0 counts
		{"connect", []uint64{4, 0, 8}, RetErrno | 1},
	} {
		if got := run1(t, prog, x86, tc.name, tc.args...).Ret; got != tc.want {
			t.Errorf("x86 %s%v: got %s, want %s", tc.name, tc.args, RetString(got), RetString(tc.want))
		}
	}
	if _, ok := prog.Skipped["x86"]; ok {
		t.Errorf("x86 skipped %v, but send is multiplexed, not skipped", prog.Skipped["x86"])
	}
	if got := prog.Skipped["x86_64"]; len(got) != 1 || got[0] != "send" {
		t.Errorf("Skipped[x86_64] = %v, want [send]", got)
	}
}
