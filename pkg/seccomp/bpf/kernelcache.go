package bpf

import "golang.org/x/net/bpf"

// KernelCachesAllow re-implements the kernel's seccomp_is_const_allow (kernel/
// seccomp.c, Linux ≥ 5.11), the emulator seccomp_cache_prepare runs for every
// syscall number of the native and compat ABIs: it follows only loads of nr
// and arch, JA, JEQ/JGE/JGT/JSET with a constant, AND with a constant and RET
// with a constant; anything else (an argument load, say) means "not
// constant", and the syscall is not cached as always allowed. A syscall it
// says true for never runs the program once the filter is attached: the
// kernel's per-ABI bitmap answers ALLOW at syscall entry. Tests and the
// benchmarks use it to assert that cost, which timing can only hint at.
func KernelCachesAllow(insns []bpf.RawInstruction, nr int32, arch uint32) bool {
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
