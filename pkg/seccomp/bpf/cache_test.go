package bpf

import (
	"testing"

	"golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// constAllow re-implements the kernel's seccomp_is_const_allow (kernel/
// seccomp.c, Linux ≥ 5.11), the emulator seccomp_cache_prepare runs for every
// syscall number of the native and compat ABIs: it follows only loads of nr
// and arch, JA, JEQ/JGE/JGT/JSET with a constant, AND with a constant and RET
// with a constant; anything else (an argument load, say) means "not
// constant", and the syscall is not cached as always allowed.
func constAllow(insns []bpf.RawInstruction, nr int32, arch uint32) bool {
	var a uint32
	for pc := 0; pc < len(insns); pc++ {
		in := insns[pc]
		switch in.Op {
		case opLdAbsW:
			switch in.K {
			case OffNr:
				a = uint32(nr)
			case OffArch:
				a = arch
			default:
				return false
			}
		case opRetK:
			return in.K == RetAllow
		case opJa:
			pc += int(in.K)
		case opJeqK, opJgeK, opJgtK, opJsetK:
			var taken bool
			switch in.Op {
			case opJeqK:
				taken = a == in.K
			case opJgeK:
				taken = a >= in.K
			case opJgtK:
				taken = a > in.K
			default:
				taken = a&in.K != 0
			}
			if taken {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case opAndK:
			a &= in.K
		default:
			return false
		}
	}
	return false
}

// TestKernelCachesArgFreeAllows: every syscall the profile allows without
// looking at arguments must be "constant allow" for the kernel's bitmap
// cache, on the native and compat ABIs, and nothing else may be.
func TestKernelCachesArgFreeAllows(t *testing.T) {
	profiles := map[string]*profile.Profile{
		"docker-like":   dockerLike(),
		"allow-default": {DefaultAction: profile.ActAllow, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}, Syscalls: []profile.Syscall{{Names: []string{"ptrace", "mount"}, Action: profile.ActErrno}}},
		"args":          {DefaultAction: profile.ActKillProcess, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86"}, Syscalls: []profile.Syscall{allow("read", "write", "close"), {Names: []string{"ioctl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpEqualTo, Value: 0x5401}}}}},
	}
	for name, p := range profiles {
		for _, native := range []string{"x86_64", "aarch64"} {
			if native == "aarch64" {
				p = p.DeepCopy()
				p.Architectures = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
			}
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
					if got := constAllow(prog.Instructions, int32(s.Nr), abi.Audit); got != want {
						t.Errorf("%s on %s: %s %s: kernel cache says const allow = %t, want %t", name, native, abi.Name, s.Name, got, want)
					}
				}
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
