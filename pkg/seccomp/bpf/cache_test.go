package bpf

import (
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// TestKernelCachesArgFreeAllows: every syscall the profile allows without
// looking at arguments must be "constant allow" for the kernel's bitmap
// cache, on the native and compat ABIs, and nothing else may be: for
// synthetic profiles on x86_64 and aarch64, and for every profile the
// project ships or measures (the predefined ones and the runtimes' defaults
// of docs/benchmarks.md) on x86_64.
func TestKernelCachesArgFreeAllows(t *testing.T) {
	profiles := map[string]*profile.Profile{
		"docker-like":   dockerLike(),
		"allow-default": {DefaultAction: profile.ActAllow, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}, Syscalls: []profile.Syscall{{Names: []string{"ptrace", "mount"}, Action: profile.ActErrno}}},
		"args":          {DefaultAction: profile.ActKillProcess, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}, Syscalls: []profile.Syscall{allow("read", "write", "close"), {Names: []string{"ioctl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 0x5401}}}}},
	}
	for name, p := range profiles {
		checkKernelCache(t, name, p, "x86_64")
		p = p.DeepCopy()
		p.Architectures = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
		checkKernelCache(t, name, p, "aarch64")
	}
	env := profile.DefaultEnv("x86_64")
	for _, p := range predefined.All() {
		r, err := profile.Resolve(p.Profile, env)
		if err != nil {
			t.Fatal(err)
		}
		checkKernelCache(t, p.Name, r, "x86_64")
	}
	for _, d := range runtimedefault.All() {
		f := d.Ref()
		p, err := profile.Parse(d.Data())
		if err != nil {
			t.Fatal(err)
		}
		r, err := profile.Resolve(p, env)
		if err != nil {
			t.Fatal(err)
		}
		checkKernelCache(t, f, r, "x86_64")
	}
}

func checkKernelCache(t *testing.T, name string, p *profile.Profile, native string) {
	t.Helper()
	prog := mustCompile(t, p, Options{Arch: native})
	for _, abi := range prog.Arches {
		if abi.Name == "x32" {
			continue // the kernel's cache covers only native and compat numbers
		}
		for _, s := range abi.Syscalls() {
			act, _, err := profile.Evaluate(p, abi, s.Nr, [6]uint64{})
			if err != nil {
				t.Fatal(err)
			}
			want := act == profile.ActAllow && !hasArgRule(p, abi, s.Nr)
			if got := KernelCachesAllow(prog.Instructions, int32(s.Nr), abi.Audit); got != want {
				t.Errorf("%s on %s: %s %s: kernel cache says const allow = %t, want %t", name, native, abi.Name, s.Name, got, want)
			}
		}
	}
}

// hasArgRule reports whether the verdict for nr depends on its arguments:
// it has argument rules, no unconditional one, and an action other than
// the default.
func hasArgRule(p *profile.Profile, abi *syscalls.Arch, nr int) bool {
	var cond, always bool
	for _, r := range p.Syscalls {
		for _, n := range r.AllNames() {
			if got, ok := abi.Lookup(n); ok && got == nr && r.Action != p.DefaultAction {
				cond = cond || len(r.Args) > 0
				always = always || len(r.Args) == 0
			}
		}
	}
	return cond && !always
}
