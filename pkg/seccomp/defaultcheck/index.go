package defaultcheck

import (
	"sort"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// index finds a resolved profile's rules by syscall, so that each syscall is
// evaluated on a profile holding only its own rules: profile.Evaluate looks
// at every rule of the profile it is given, and a default has hundreds of
// names.
type index struct {
	p     *profile.Profile
	byABI map[*syscalls.Arch]map[int][]int
}

func newIndex(p *profile.Profile) *index {
	return &index{p: p, byABI: map[*syscalls.Arch]map[int][]int{}}
}

// allowedNames are the names of p's rules that let a call run, sorted.
func (x *index) allowedNames() []string {
	seen := map[string]bool{}
	var out []string
	for i := range x.p.Syscalls {
		s := &x.p.Syscalls[i]
		if !allowing(s.Action) {
			continue
		}
		for _, n := range s.AllNames() {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// forSyscall returns a profile equal to p for syscall nr of abi: p's
// defaults and architectures and, in order, the rules naming nr, each
// reduced to that name. For a
// multiplexer (socketcall, ipc) it is p itself: rules on the calls it
// multiplexes apply to it too.
func (x *index) forSyscall(abi *syscalls.Arch, nr int) *profile.Profile {
	if name, ok := abi.NameOf(nr); ok && (name == "socketcall" || name == "ipc") {
		return x.p
	}
	m, ok := x.byABI[abi]
	if !ok {
		m = map[int][]int{}
		for i := range x.p.Syscalls {
			for _, n := range x.p.Syscalls[i].AllNames() {
				if got, ok := abi.Lookup(n); ok {
					if l := m[got]; len(l) == 0 || l[len(l)-1] != i {
						m[got] = append(l, i)
					}
				}
			}
		}
		x.byABI[abi] = m
	}
	name, _ := abi.NameOf(nr)
	out := *x.p
	out.Syscalls = make([]profile.Syscall, 0, len(m[nr]))
	for _, i := range m[nr] {
		// Only this syscall's name: the rule's other names cannot decide it
		// (nr is no multiplexer), and Evaluate looks at every name.
		r := x.p.Syscalls[i]
		r.Names, r.Name = []string{name}, ""
		out.Syscalls = append(out.Syscalls, r)
	}
	return &out
}

// argsFor returns the comparisons of p's rules that apply to nr on abi:
// those of rules naming it and, for a multiplexer, those libseccomp derives
// from rules on the calls it multiplexes.
func argsFor(p *profile.Profile, abi *syscalls.Arch, nr int) [][]profile.Arg {
	var out [][]profile.Arg
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		for _, n := range s.AllNames() {
			if got, ok := abi.Lookup(n); ok && got == nr {
				out = append(out, s.Args)
				break
			}
			if mux, call, ok := profile.Multiplexed(abi, n); ok {
				if got, ok := abi.Lookup(mux); ok && got == nr {
					out = append(out, profile.MultiplexedArgs(s.Args, call))
				}
			}
		}
	}
	return out
}
