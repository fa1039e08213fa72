package bpf

import (
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func compareOpts() CompareOptions { return CompareOptions{Native: "x86_64"} }

// withDenied returns p with name denied by an ERRNO rule placed first.
func withDenied(p *profile.Profile, name string) *profile.Profile {
	q := p.DeepCopy()
	q.Syscalls = append([]profile.Syscall{{Names: []string{name}, Action: profile.ActErrno}}, q.Syscalls...)
	return q
}

func TestCompareKernelProvesItsOwnProgram(t *testing.T) {
	p := dockerLike()
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	c, err := CompareKernel([][]xbpf.RawInstruction{prog.Instructions}, p, compareOpts())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal() || c.DifferenceCount != 0 {
		t.Fatalf("own program: %d differences, first %+v, unchecked %v", c.DifferenceCount, first(c), c.Unchecked)
	}
	var names []string
	argCases := 0
	for _, a := range c.ABIs {
		names = append(names, a.ABI)
		argCases += a.ArgCases
	}
	if len(names) != 3 || names[0] != "x86_64" || names[1] != "x86" || names[2] != "x32" {
		t.Errorf("ABIs compared: %v", names)
	}
	if argCases == 0 {
		t.Error("no argument cases run for a profile with argument rules")
	}
	if c.Cases < 3*450 {
		t.Errorf("only %d cases", c.Cases)
	}
}

func TestCompareKernelListsDifferences(t *testing.T) {
	p := dockerLike()
	kernel := mustCompile(t, p, Options{Arch: "x86_64"})
	c, err := CompareKernel([][]xbpf.RawInstruction{kernel.Instructions}, withDenied(p, "getcwd"), compareOpts())
	if err != nil {
		t.Fatal(err)
	}
	if c.Equal() || c.DifferenceCount != 3 {
		t.Fatalf("%d differences, want getcwd on x86_64, x86 and x32: %+v", c.DifferenceCount, first(c))
	}
	for _, d := range c.Differences {
		if d.Syscall != "getcwd" || d.Kernel != RetAllow || d.Profile != RetErrno|1 {
			t.Errorf("difference %+v", d)
		}
	}
}

// Two filters stacked: the kernel's verdict is the strictest, so a filter
// for the profile plus one that denies getcwd equals the profile that also
// denies getcwd.
func TestCompareKernelStackedFilters(t *testing.T) {
	p := dockerLike()
	base := mustCompile(t, p, Options{Arch: "x86_64"})
	deny := mustCompile(t, &profile.Profile{DefaultAction: profile.ActAllow, Architectures: p.Architectures,
		Syscalls: []profile.Syscall{{Names: []string{"getcwd"}, Action: profile.ActErrno}}}, Options{Arch: "x86_64"})
	c, err := CompareKernel([][]xbpf.RawInstruction{base.Instructions, deny.Instructions}, withDenied(p, "getcwd"), compareOpts())
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal() {
		t.Fatalf("stacked: %d differences, first %+v", c.DifferenceCount, first(c))
	}
	if c, _ := CompareKernel([][]xbpf.RawInstruction{base.Instructions, deny.Instructions}, p, compareOpts()); c.DifferenceCount != 3 {
		t.Errorf("stacked filters against the profile without the denial: %d differences, want getcwd on 3 ABIs", c.DifferenceCount)
	}
}

// An argument rule: a kernel program whose rule compares another value
// differs only in the argument cases.
func TestCompareKernelArguments(t *testing.T) {
	rule := func(v uint64) *profile.Profile {
		return &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{
			{Names: []string{"read", "write"}, Action: profile.ActAllow},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Value: v, Op: profile.OpEqualTo}}},
		}}
	}
	kernel := mustCompile(t, rule(8), Options{Arch: "x86_64"})
	c, err := CompareKernel([][]xbpf.RawInstruction{kernel.Instructions}, rule(8), compareOpts())
	if err != nil || !c.Equal() {
		t.Fatalf("same rule: %v %+v", err, first(c))
	}
	c, err = CompareKernel([][]xbpf.RawInstruction{kernel.Instructions}, rule(9), compareOpts())
	if err != nil {
		t.Fatal(err)
	}
	if c.DifferenceCount == 0 {
		t.Fatal("personality(8) vs personality(9): no difference found")
	}
	for _, d := range c.Differences {
		if d.Syscall != "personality" || (d.Args[0] != 8 && d.Args[0] != 9) {
			t.Errorf("difference %+v", d)
		}
	}
}

// runc's stub on a program of ours: numbers above the profile's largest
// get ENOSYS. With the runc model the comparison expects exactly that.
func TestCompareKernelRuncStub(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno, Architectures: []string{"SCMP_ARCH_X86_64"},
		Syscalls: []profile.Syscall{{Names: []string{"read", "write", "openat"}, Action: profile.ActAllow}}}
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	openat, _ := syscalls.MustGet("x86_64").Lookup("openat")
	raw := withRuncStub(prog, uint32(openat))
	kernel := [][]xbpf.RawInstruction{raw}
	if err := Check(raw); err != nil {
		t.Fatal(err)
	}
	c, err := CompareKernel(kernel, p, CompareOptions{Native: "x86_64", Runtime: RuntimeRunc})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal() {
		t.Fatalf("runc model: %d differences, first %+v", c.DifferenceCount, first(c))
	}
	if c.ABIs[0].StubAbove != int64(openat) {
		t.Errorf("stub above %d, want %d", c.ABIs[0].StubAbove, openat)
	}
	// Without the model every number above openat differs.
	c, err = CompareKernel(kernel, p, CompareOptions{Native: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if c.DifferenceCount == 0 || c.Differences[0].Nr != uint32(openat)+1 || c.Differences[0].Kernel != enosys {
		t.Fatalf("no model: %d differences, first %+v", c.DifferenceCount, first(c))
	}
}

// The predefined webapp profile against its own program: five
// architectures listed, three of them this family's.
func TestCompareKernelWebapp(t *testing.T) {
	pre, ok := predefined.Get("webapp")
	if !ok {
		t.Skip("no webapp")
	}
	p, err := profile.Resolve(pre.Profile, profile.DefaultEnv("x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	prog := mustCompile(t, p, Options{Arch: "x86_64"})
	c, err := CompareKernel([][]xbpf.RawInstruction{prog.Instructions}, p, compareOpts())
	if err != nil || !c.Equal() {
		t.Fatalf("%v: %d differences, first %+v, unchecked %v", err, c.DifferenceCount, first(c), c.Unchecked)
	}
}

func first(c *Comparison) []Difference {
	if c == nil || len(c.Differences) < 5 {
		if c == nil {
			return nil
		}
		return c.Differences
	}
	return c.Differences[:5]
}

// withRuncStub puts runc's stub for x86_64 alone (x32 numbers skip it) in
// front of prog, answering ENOSYS above last.
func withRuncStub(prog *Program, last uint32) []xbpf.RawInstruction {
	return append([]xbpf.RawInstruction{
		{Op: opLdAbsW, K: OffArch},
		{Op: opJeqK, K: syscalls.MustGet("x86_64").Audit, Jt: 0, Jf: 5},
		{Op: opLdAbsW, K: OffNr},
		{Op: opJsetK, K: 1 << 30, Jt: 3, Jf: 0},
		{Op: opJgtK, K: last, Jt: 1, Jf: 0},
		{Op: opJa, K: 1},
		{Op: opRetK, K: enosys},
	}, prog.Instructions...)
}

// A runtime whose libseccomp does not know mseal skips its rule and stops
// its stub at the newest syscall it knows: the runc model proves the
// filter equal and names mseal as not installed; a rule that answers
// ENOSYS itself is not named.
func TestCompareKernelNotInstalled(t *testing.T) {
	x := syscalls.MustGet("x86_64")
	known := &profile.Profile{DefaultAction: profile.ActErrno, Architectures: []string{"SCMP_ARCH_X86_64"},
		Syscalls: []profile.Syscall{{Names: []string{"read", "write", "fchmodat2"}, Action: profile.ActAllow}}}
	full := known.DeepCopy()
	full.Syscalls = append(full.Syscalls, profile.Syscall{Names: []string{"mseal"}, Action: profile.ActAllow})
	enosysRet := uint(38)
	full.Syscalls = append(full.Syscalls, profile.Syscall{Names: []string{"lsm_list_modules"}, Action: profile.ActErrno, ErrnoRet: &enosysRet})
	last, _ := x.Lookup("fchmodat2")
	kernel := [][]xbpf.RawInstruction{withRuncStub(mustCompile(t, known, Options{Arch: "x86_64"}), uint32(last))}
	c, err := CompareKernel(kernel, full, CompareOptions{Native: "x86_64", Runtime: RuntimeRunc})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Equal() || len(c.NotInstalled) != 1 || c.NotInstalled[0] != "mseal" {
		t.Fatalf("equal %v (%d differences, first %+v), not installed %v; want equal, [mseal]", c.Equal(), c.DifferenceCount, first(c), c.NotInstalled)
	}
	// The same kernel filter and a runtime that installed every rule
	// (the profile as the filter was made) prove equal with nothing missing.
	c, err = CompareKernel(kernel, known, CompareOptions{Native: "x86_64", Runtime: RuntimeRunc})
	if err != nil || !c.Equal() || len(c.NotInstalled) != 0 {
		t.Fatalf("%v: equal %v, not installed %v", err, c.Equal(), c.NotInstalled)
	}
}
