package bpf

import (
	"fmt"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// expectedRet is the SECCOMP_RET_* value profile.Evaluate's answer stands for.
func expectedRet(t testing.TB, act profile.Action, data uint) uint32 {
	t.Helper()
	var d *uint
	if act == profile.ActErrno || act == profile.ActTrace {
		d = &data
	}
	ret, err := ActionRet(act, d)
	if err != nil {
		t.Fatalf("ActionRet(%s, %d): %v", act, data, err)
	}
	return ret
}

// probeNumbers returns the syscall numbers worth trying on abi: its whole
// table (or only the given names, when sample is set) plus the edges of the
// number space and of the x32 range.
func probeNumbers(abi *syscalls.Arch, sample map[string]bool) []int {
	var nrs []int
	for _, s := range abi.Syscalls() {
		if sample == nil || sample[s.Name] {
			nrs = append(nrs, s.Nr)
		}
	}
	max := abi.MaxNr()
	x := syscalls.X32SyscallBit
	return append(nrs, -1, -2, 0, 1, max+1, max+2, 1000, x-1, x, x+1, x+max+1,
		x+512, 0x7fffffff, -0x80000000, 0x3fffffff)
}

// argVectors returns argument vectors around every value the profile
// compares with: equal, one off, and differing only in one 32-bit half.
func argVectors(p *profile.Profile) [][6]uint64 {
	vals := map[uint64]bool{0: true, 1: true, 2: true, 1<<32 - 1: true, 1 << 32: true, 1 << 63: true, ^uint64(0): true}
	for _, s := range p.Syscalls {
		for _, a := range s.Args {
			for _, v := range []uint64{a.Value, a.ValueTwo, a.Value & a.ValueTwo, a.Value | a.ValueTwo} {
				vals[v], vals[v+1], vals[v-1] = true, true, true
				vals[v^1<<32], vals[v^1] = true, true
				vals[v&0xffffffff], vals[v|0xffffffff00000000] = true, true
			}
		}
	}
	var out [][6]uint64
	var i int
	list := make([]uint64, 0, len(vals))
	for v := range vals {
		list = append(list, v)
	}
	for _, v := range list {
		// Every argument gets a different value so rules on different
		// indexes see different inputs.
		var a [6]uint64
		for k := range a {
			a[k] = list[(i+k*7)%len(list)]
		}
		a[i%6] = v
		out = append(out, a, [6]uint64{v, v, v, v, v, v})
		i++
	}
	return out
}

// mismatch describes the first input on which the compiled program and
// profile.Evaluate disagree, or "" when they agree on all probed inputs.
func mismatch(t testing.TB, p *profile.Profile, prog *Program, sample map[string]bool, vecs [][6]uint64) string {
	t.Helper()
	if err := Check(prog.Instructions); err != nil {
		return "invalid program: " + err.Error()
	}
	for _, abi := range syscalls.Family(prog.Native.Name) {
		order := ByteOrder(abi)
		named := namedNumbers(p, abi)
		for _, nr := range probeNumbers(abi, sample) {
			nrVecs := vecs
			if !named[nr] {
				nrVecs = vecs[:1] // no rule looks at its arguments
			}
			for _, args := range nrVecs {
				act, data, err := profile.Evaluate(p, abi, nr, args)
				if err != nil {
					return "evaluate: " + err.Error()
				}
				want := expectedRet(t, act, data)
				d := Data{Nr: int32(nr), Arch: abi.Audit, Args: args}
				got, err := execute(prog.Instructions, d.Bytes(order), order)
				if err != nil {
					return "simulate: " + err.Error()
				}
				if got.Ret != want {
					name, _ := abi.NameOf(nr)
					return fmt.Sprintf("abi %s nr %d (%s) args %#x: program says %s, Evaluate says %s\n%s",
						abi.Name, nr, name, args, RetString(got.Ret), RetString(want), Disassemble(prog.Instructions))
				}
			}
		}
	}
	return ""
}

// namedNumbers returns the numbers on abi of the syscalls p has rules for.
func namedNumbers(p *profile.Profile, abi *syscalls.Arch) map[int]bool {
	out := map[int]bool{}
	for _, r := range p.Syscalls {
		for _, n := range r.AllNames() {
			if nr, ok := abi.Lookup(n); ok {
				out[nr] = true
			}
		}
	}
	return out
}
