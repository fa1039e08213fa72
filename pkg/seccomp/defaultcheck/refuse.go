package defaultcheck

import (
	"fmt"
	"math/bits"
	"sort"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// maxVectors bounds the argument vectors tried per syscall; past it, each
// argument is varied alone.
const maxVectors = 4096

// refusals evaluates syscall nr of abi under the workload's profile w and
// the default d on argument vectors built from both profiles' comparison
// values (each value and its neighbours, each bit of a mask, zero): every
// region the rules carve out has a representative among them. Vectors w
// refuses are not used by the workload; of the others, those d refuses
// become refusals, one per action and errno.
func refusals(w, d *profile.Profile, abi *syscalls.Arch, nr int, name string) ([]Refusal, error) {
	wArgs, dArgs := argsFor(w, abi, nr), argsFor(d, abi, nr)
	rules := append(append([][]profile.Arg(nil), wArgs...), dArgs...)
	// Every value with a name (each socket family, namespace flag, ...)
	// is tried too, so that each refused one is listed, not only those
	// next to a comparison's value.
	for _, i := range indices(dArgs) {
		for _, v := range namedValues(name, abi, i) {
			rules = append(rules, []profile.Arg{{Index: i, Op: profile.OpEqualTo, Value: v}})
		}
	}
	vecs := vectors(rules, abi.Bits)
	type group struct {
		act   profile.Action
		errno uint
		vecs  [][6]uint64
	}
	var groups []*group
	used, passed := false, false
	for _, v := range vecs {
		wa, _, err := profile.Evaluate(w, abi, nr, v)
		if err != nil {
			return nil, fmt.Errorf("workload profile, %s: %w", name, err)
		}
		if !allowing(wa) {
			continue
		}
		used = true
		da, data, err := profile.Evaluate(d, abi, nr, v)
		if err != nil {
			return nil, fmt.Errorf("default profile, %s: %w", name, err)
		}
		if allowing(da) {
			passed = true
			continue
		}
		var g *group
		for _, x := range groups {
			if x.act == da && x.errno == data {
				g = x
			}
		}
		if g == nil {
			g = &group{act: da, errno: data}
			groups = append(groups, g)
		}
		g.vecs = append(g.vecs, v)
	}
	if !used {
		return nil, nil
	}
	condIdx := indices(dArgs)
	var out []Refusal
	for _, g := range groups {
		r := Refusal{Syscall: name, Action: g.act, Always: !passed && len(groups) == 1}
		if g.act == profile.ActErrno {
			r.Errno = g.errno
			r.ErrnoName, _ = profile.ErrnoName(g.errno)
		}
		if !r.Always {
			r.Values = refusedValues(name, abi, g.vecs, condIdx, dArgs)
			r.AllowedOnly = allowedOnly(d, abi, nr, name)
		}
		out = append(out, r)
	}
	return out, nil
}

// indices are the argument indices the comparisons look at, sorted.
func indices(rules [][]profile.Arg) []uint {
	seen := map[uint]bool{}
	var out []uint
	for _, r := range rules {
		for _, a := range r {
			if a.Index <= 5 && !seen[a.Index] {
				seen[a.Index] = true
				out = append(out, a.Index)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// vectors returns the argument vectors to try for these rules' comparisons.
func vectors(rules [][]profile.Arg, width int) [][6]uint64 {
	max := ^uint64(0)
	if width == 32 {
		max = 0xffffffff
	}
	vals := map[uint]map[uint64]bool{}
	add := func(i uint, v uint64) {
		if vals[i] == nil {
			vals[i] = map[uint64]bool{0: true}
		}
		vals[i][v&max] = true
	}
	for _, r := range rules {
		for _, a := range r {
			if a.Index > 5 {
				continue
			}
			v := a.Value & max
			if a.Op == profile.OpMaskedEqual {
				add(a.Index, v)
				add(a.Index, a.ValueTwo&v)
				for m := v; m != 0; m &= m - 1 {
					add(a.Index, uint64(1)<<bits.TrailingZeros64(m))
				}
				continue
			}
			add(a.Index, v)
			if v > 0 {
				add(a.Index, v-1)
			}
			if v < max {
				add(a.Index, v+1)
			}
		}
	}
	idx := make([]uint, 0, len(vals))
	total := 1
	for i, m := range vals {
		idx = append(idx, i)
		total *= len(m)
	}
	sort.Slice(idx, func(a, b int) bool { return idx[a] < idx[b] })
	sorted := func(i uint) []uint64 {
		var l []uint64
		for v := range vals[i] {
			l = append(l, v)
		}
		sort.Slice(l, func(a, b int) bool { return l[a] < l[b] })
		return l
	}
	out := [][6]uint64{{}}
	if total > maxVectors {
		for _, i := range idx {
			for _, v := range sorted(i) {
				var vec [6]uint64
				vec[i] = v
				out = append(out, vec)
			}
		}
		return out
	}
	for _, i := range idx {
		var next [][6]uint64
		for _, base := range out {
			for _, v := range sorted(i) {
				vec := base
				vec[i] = v
				next = append(next, vec)
			}
		}
		out = next
	}
	return out
}

// refusedValues picks, from refused vectors, the values at the indices the
// default compares that say what is refused: named ones (CLONE_NEWUSER,
// AF_VSOCK) and single bits of a mask the default tests; failing those, a
// few examples.
func refusedValues(name string, abi *syscalls.Arch, vecs [][6]uint64, idx []uint, dArgs [][]profile.Arg) []ArgValue {
	maskBits := map[uint]uint64{}
	for _, r := range dArgs {
		for _, a := range r {
			if a.Op == profile.OpMaskedEqual {
				maskBits[a.Index] |= a.Value
			}
		}
	}
	var named, other []ArgValue
	seen := map[[2]uint64]bool{}
	for _, v := range vecs {
		for _, i := range idx {
			k := [2]uint64{uint64(i), v[i]}
			if seen[k] {
				continue
			}
			seen[k] = true
			av := ArgValue{Index: i, Value: v[i], Name: argName(name, abi, i, v[i])}
			single := v[i] != 0 && v[i]&(v[i]-1) == 0 && maskBits[i]&v[i] != 0
			if av.Name != "" || single {
				named = append(named, av)
			} else {
				other = append(other, av)
			}
		}
	}
	if len(named) > 0 {
		return named
	}
	if len(other) > 4 {
		other = other[:4]
	}
	return other
}

// allowedOnly renders the default's rules that allow nr under conditions.
func allowedOnly(d *profile.Profile, abi *syscalls.Arch, nr int, name string) []string {
	var out []string
	for i := range d.Syscalls {
		s := &d.Syscalls[i]
		if !allowing(s.Action) || len(s.Args) == 0 {
			continue
		}
		for _, n := range s.AllNames() {
			if got, ok := abi.Lookup(n); ok && got == nr {
				var parts []string
				for _, a := range s.Args {
					parts = append(parts, condString(name, abi, a))
				}
				out = append(out, strings.Join(parts, " && "))
				break
			}
		}
	}
	return out
}

var opSymbols = map[profile.Operator]string{
	profile.OpEqualTo: "==", profile.OpNotEqual: "!=", profile.OpLessThan: "<", profile.OpLessEqual: "<=",
	profile.OpGreaterThan: ">", profile.OpGreaterEqual: ">=",
}

func condString(name string, abi *syscalls.Arch, a profile.Arg) string {
	if a.Op == profile.OpMaskedEqual {
		return fmt.Sprintf("arg%d & %#x == %#x", a.Index, a.Value, a.ValueTwo&a.Value)
	}
	s := fmt.Sprintf("arg%d %s %#x", a.Index, opSymbols[a.Op], a.Value)
	if n := argName(name, abi, a.Index, a.Value); n != "" && (a.Op == profile.OpEqualTo || a.Op == profile.OpNotEqual) {
		s += " (" + n + ")"
	}
	return s
}
