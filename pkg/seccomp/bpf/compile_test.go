package bpf

import (
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func uptr(v uint) *uint { return &v }

func allow(names ...string) profile.Syscall {
	return profile.Syscall{Names: names, Action: profile.ActAllow}
}

func mustCompile(t testing.TB, p *profile.Profile, opts Options) *Program {
	t.Helper()
	prog, err := Compile(p, opts)
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return prog
}

// agree fails the test if the compiled program and Evaluate disagree on any
// syscall of any ABI of the family, for the profile's interesting args.
func agree(t *testing.T, p *profile.Profile, opts Options) *Program {
	t.Helper()
	prog := mustCompile(t, p, opts)
	if m := mismatch(t, p, prog, nil, argVectors(p)); m != "" {
		t.Fatal(m)
	}
	return prog
}

func run1(t testing.TB, prog *Program, abi *syscalls.Arch, name string, args ...uint64) Result {
	t.Helper()
	nr, ok := abi.Lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", abi.Name, name)
	}
	return runNr(t, prog, abi, nr, args...)
}

func runNr(t testing.TB, prog *Program, abi *syscalls.Arch, nr int, args ...uint64) Result {
	t.Helper()
	d := Data{Nr: int32(nr), Arch: abi.Audit}
	copy(d.Args[:], args)
	r, err := SimulateOrder(prog.Instructions, d, ByteOrder(abi))
	if err != nil {
		t.Fatalf("Simulate: %v", err)
	}
	return r
}

var (
	x8664 = syscalls.MustGet("x86_64")
	x86   = syscalls.MustGet("x86")
	x32   = syscalls.MustGet("x32")
	arm64 = syscalls.MustGet("aarch64")
	arm   = syscalls.MustGet("arm")
)

func TestBasicVerdicts(t *testing.T) {
	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"},
		Syscalls: []profile.Syscall{
			allow("read", "write", "getppid"),
			{Names: []string{"mkdirat"}, Action: profile.ActErrno, ErrnoRet: uptr(13)},
			{Names: []string{"ptrace"}, Action: profile.ActKillProcess},
			{Names: []string{"reboot"}, Action: profile.ActKill},
			{Names: []string{"kexec_load"}, Action: profile.ActTrap},
			{Names: []string{"uname"}, Action: profile.ActLog},
			{Names: []string{"chroot"}, Action: profile.ActTrace, ErrnoRet: uptr(42)},
			{Names: []string{"pivot_root"}, Action: profile.ActTrace},
			{Names: []string{"mount"}, Action: profile.ActNotify},
		},
	}
	prog := agree(t, p, Options{Arch: "x86_64"})
	for _, tc := range []struct {
		abi  *syscalls.Arch
		name string
		want uint32
	}{
		{x8664, "read", RetAllow},
		{x86, "read", RetAllow},
		{x8664, "open", RetErrno | 1},
		{x8664, "mkdirat", RetErrno | 13},
		{x8664, "ptrace", RetKillProcess},
		{x8664, "reboot", RetKillThread},
		{x8664, "kexec_load", RetTrap},
		{x8664, "uname", RetLog},
		{x8664, "chroot", RetTrace | 42},
		{x8664, "pivot_root", RetTrace | 1},
		{x8664, "mount", RetUserNotif},
		{x32, "read", RetKillProcess}, // x32 not listed
	} {
		if got := run1(t, prog, tc.abi, tc.name).Ret; got != tc.want {
			t.Errorf("%s %s: got %s, want %s", tc.abi.Name, tc.name, RetString(got), RetString(tc.want))
		}
	}
	if got := runNr(t, prog, x8664, -1).Ret; got != RetErrno|1 {
		t.Errorf("x86_64 nr -1: got %s, want the default action", RetString(got))
	}
	if got := runNr(t, prog, arm64, 63).Ret; got != RetKillProcess {
		t.Errorf("aarch64 data on an x86_64 filter: got %s, want KILL_PROCESS", RetString(got))
	}
}

func TestEmptyArchitecturesMeansNativeOnly(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActAllow, Syscalls: []profile.Syscall{{Names: []string{"read"}, Action: profile.ActErrno}}}
	prog := agree(t, p, Options{Arch: "amd64"})
	if len(prog.Arches) != 1 || prog.Arches[0] != x8664 {
		t.Fatalf("Arches = %v, want [x86_64]", archNames(prog.Arches))
	}
	if got := run1(t, prog, x86, "getpid").Ret; got != RetKillProcess {
		t.Errorf("x86 getpid: got %s, want KILL_PROCESS", RetString(got))
	}
}

var eq0 = []profile.Arg{{Index: 0, Op: profile.OpEqualTo}}

// TestFirstUnconditionalWins: the first rule naming a syscall without
// comparisons decides it, as in libseccomp; CRI-O's default profile lists
// setns in its allow list and in a later ERRNO rule.
func TestFirstUnconditionalWins(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno, DefaultErrnoRet: uptr(38), Syscalls: []profile.Syscall{
		allow("setns", "read"),
		{Names: []string{"read"}, Action: profile.ActLog, Args: eq0},
		{Names: []string{"setns", "unshare"}, Action: profile.ActErrno, ErrnoRet: uptr(1)},
		{Names: []string{"unshare"}, Action: profile.ActAllow},
		{Names: []string{"mount"}, Action: profile.ActLog, Args: eq0},
		{Names: []string{"mount"}, Action: profile.ActTrap, Args: eq0},
		{Names: []string{"mount"}, Action: profile.ActKillProcess},
	}}
	prog := agree(t, p, Options{Arch: "x86_64"})
	for name, want := range map[string]uint32{"setns": RetAllow, "read": RetAllow, "unshare": RetErrno | 1, "mount": RetKillProcess} {
		if got := run1(t, prog, x8664, name).Ret; got != want {
			t.Errorf("%s: got %s, want %s", name, RetString(got), RetString(want))
		}
	}
}

func TestCompileErrors(t *testing.T) {
	base := func() *profile.Profile {
		return &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{allow("read")}}
	}
	for name, tc := range map[string]struct {
		mod  func(p *profile.Profile)
		opts Options
		want string
	}{
		"includes": {func(p *profile.Profile) { p.Syscalls[0].Includes = &profile.Filter{Caps: []string{"CAP_SYS_ADMIN"}} }, Options{Arch: "x86_64"}, "syscalls[0].includes is set: call profile.Resolve first"},
		"excludes": {func(p *profile.Profile) { p.Syscalls[0].Excludes = &profile.Filter{Arches: []string{"x86"}} }, Options{Arch: "x86_64"}, "syscalls[0].excludes is set: call profile.Resolve first"},
		"archMap":  {func(p *profile.Profile) { p.ArchMap = []profile.ArchMap{{Arch: "SCMP_ARCH_X86_64"}} }, Options{Arch: "x86_64"}, "archMap is set"},
		"conflict": {func(p *profile.Profile) {
			p.Syscalls = []profile.Syscall{{Names: []string{"read"}, Action: profile.ActAllow, Args: eq0}, {Names: []string{"read"}, Action: profile.ActLog, Args: eq0}}
		}, Options{Arch: "x86_64"}, `syscall "read" on x86_64: conflicting rules: syscalls[0] (SCMP_ACT_ALLOW) and syscalls[1] (SCMP_ACT_LOG) can both match`},
		"errno conflict": {func(p *profile.Profile) {
			p.Syscalls = []profile.Syscall{{Names: []string{"read"}, Action: profile.ActErrno, Args: eq0}, {Names: []string{"read"}, Action: profile.ActErrno, ErrnoRet: uptr(2), Args: eq0}}
		}, Options{Arch: "x86_64"}, "conflicting rules"},
		"errnoRet allow":  {func(p *profile.Profile) { p.Syscalls[0].ErrnoRet = uptr(1) }, Options{Arch: "x86_64"}, "syscalls[0]: action SCMP_ACT_ALLOW: errnoRet 1 is only valid with"},
		"errnoRet big":    {func(p *profile.Profile) { p.DefaultErrnoRet = uptr(70000) }, Options{Arch: "x86_64"}, "defaultAction: action SCMP_ACT_ERRNO: errnoRet 70000 does not fit in 16 bits"},
		"unknown action":  {func(p *profile.Profile) { p.Syscalls[0].Action = "SCMP_ACT_FOO" }, Options{Arch: "x86_64"}, `syscalls[0]: unknown action "SCMP_ACT_FOO"`},
		"empty default":   {func(p *profile.Profile) { p.DefaultAction = "" }, Options{Arch: "x86_64"}, "defaultAction: empty action"},
		"bad index":       {func(p *profile.Profile) { p.Syscalls[0].Args = []profile.Arg{{Index: 6, Op: profile.OpEqualTo}} }, Options{Arch: "x86_64"}, "syscalls[0].args[0].index: 6: must be 0..5"},
		"bad op":          {func(p *profile.Profile) { p.Syscalls[0].Args = []profile.Arg{{Index: 1, Op: "SCMP_CMP_XX"}} }, Options{Arch: "x86_64"}, `syscalls[0].args[0].op: "SCMP_CMP_XX": unknown operator`},
		"bad flag":        {func(p *profile.Profile) { p.Flags = []string{"SECCOMP_FILTER_FLAG_NOPE"} }, Options{Arch: "x86_64"}, `flags[0]: "SECCOMP_FILTER_FLAG_NOPE": unknown seccomp filter flag`},
		"unknown arch":    {func(p *profile.Profile) {}, Options{Arch: "vax"}, `unknown architecture "vax"`},
		"no common arch":  {func(p *profile.Profile) { p.Architectures = []string{"SCMP_ARCH_AARCH64"} }, Options{Arch: "x86_64"}, "architectures [SCMP_ARCH_AARCH64]: none of them runs on a x86_64 host"},
		"unknown in list": {func(p *profile.Profile) { p.Architectures = []string{"SCMP_ARCH_PDP11"} }, Options{Arch: "x86_64"}, `architectures[0]: "SCMP_ARCH_PDP11": unknown architecture`},
	} {
		t.Run(name, func(t *testing.T) {
			p := base()
			tc.mod(p)
			_, err := Compile(p, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Compile error = %v, want it to contain %q", err, tc.want)
			}
			if !strings.HasPrefix(err.Error(), "compile profile: ") {
				t.Errorf("error %q lacks the compile profile: context", err)
			}
		})
	}
}
