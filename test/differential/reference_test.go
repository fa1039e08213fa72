//go:build libseccomp

package differential

import (
	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// refRule is one profile rule as it applies to one (ABI, number).
type refRule struct {
	args []profile.Arg
	ret  uint32
}

// rulesFor lists, in profile order, the rules that apply to nr on abi:
// direct ones and x86 socketcall/ipc multiplexed ones (libseccomp's
// behaviour, contract UPDATE 04:17). Names libseccomp cannot resolve are
// left out, as they are from its program.
func rulesFor(p *profile.Profile, abi *syscalls.Arch, nr int, unres map[string]bool) []refRule {
	var out []refRule
	for _, s := range p.Syscalls {
		ret, err := ourbpf.ActionRet(s.Action, s.ErrnoRet)
		if err != nil {
			continue
		}
		for _, n := range s.Names {
			if unres[n] {
				continue
			}
			if x, ok := abi.Lookup(n); ok && x == nr {
				out = append(out, refRule{s.Args, ret})
			}
			if mux, call, ok := profile.Multiplexed(abi, n); ok {
				if x, _ := abi.Lookup(mux); x == nr {
					out = append(out, refRule{profile.MultiplexedArgs(s.Args, call), ret})
				}
			}
		}
	}
	return out
}

// reference is the test's own, independent reading of contract §4-§6 for
// a listed ABI: the first unconditional rule decides, else the first rule
// whose comparisons all hold, else the default action. 32-bit ABIs
// compare the low 32 bits only.
func reference(p *profile.Profile, abi *syscalls.Arch, nr int, args [6]uint64, unres map[string]bool) uint32 {
	def, _ := ourbpf.ActionRet(p.DefaultAction, p.DefaultErrnoRet)
	rules := rulesFor(p, abi, nr, unres)
	for _, r := range rules {
		if len(r.args) == 0 {
			return r.ret
		}
	}
	mask := ^uint64(0)
	if abi.Bits == 32 {
		mask = 0xffffffff
	}
	for _, r := range rules {
		ok := true
		for _, c := range r.args {
			a, v, v2 := args[c.Index]&mask, c.Value&mask, c.ValueTwo&mask
			switch c.Op {
			case profile.OpNotEqual:
				ok = a != v
			case profile.OpLessThan:
				ok = a < v
			case profile.OpLessEqual:
				ok = a <= v
			case profile.OpEqualTo:
				ok = a == v
			case profile.OpGreaterEqual:
				ok = a >= v
			case profile.OpGreaterThan:
				ok = a > v
			case profile.OpMaskedEqual:
				ok = a&v == v2&v
			}
			if !ok {
				break
			}
		}
		if ok {
			return r.ret
		}
	}
	return def
}

// sharedIndex reports whether two conditional rules for nr on abi compare
// the same argument: the shape libseccomp 2.5.4 merges wrongly.
func sharedIndex(p *profile.Profile, abi *syscalls.Arch, nr int, unres map[string]bool) bool {
	seen := map[uint]bool{}
	for _, r := range rulesFor(p, abi, nr, unres) {
		this := map[uint]bool{}
		for _, c := range r.args {
			if seen[c.Index] {
				return true
			}
			this[c.Index] = true
		}
		for i := range this {
			seen[i] = true
		}
	}
	return false
}
