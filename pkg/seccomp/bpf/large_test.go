package bpf

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// largeIoctlProfile is n argument rules for ioctl with two verdicts and no
// unconditional rule (an allow list of request numbers with some denied),
// the shape whose conflict check compares rules pairwise.
func largeIoctlProfile(n int) *profile.Profile {
	p := &profile.Profile{DefaultAction: profile.ActErrno, Architectures: []string{"SCMP_ARCH_X86_64"}}
	for i := range n {
		r := profile.Syscall{Names: []string{"ioctl"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Value: uint64(0x5400 + i), Op: profile.OpEqualTo}}}
		if i%3 == 0 {
			r.Action = profile.ActErrno
		}
		p.Syscalls = append(p.Syscalls, r)
	}
	return p
}

// TestCompileLargeLinear: compiling a flattened chain's worth of argument
// rules for one syscall (16 × 1,024) does not compare them pairwise.
func TestCompileLargeLinear(t *testing.T) {
	p := largeIoctlProfile(16384)
	start := time.Now()
	// Too many comparisons for one program: the kernel's limit says so.
	if _, err := Compile(p, Options{Arch: "x86_64"}); err == nil || !strings.Contains(err.Error(), "more than the kernel's limit of 4096") {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Compile of 16,384 ioctl rules took %v", d)
	}
}

// TestCompileLargeConflict: the conflict check still finds the first
// conflicting pair (in rule order) among many rules.
func TestCompileLargeConflict(t *testing.T) {
	p := largeIoctlProfile(4096)
	// Rule 4000 (ALLOW, value 0x5400+4000) and a later ERRNO rule on the
	// same value; and a range rule at the end that overlaps rule 3.
	p.Syscalls = append(p.Syscalls,
		profile.Syscall{Names: []string{"ioctl"}, Action: profile.ActErrno, Args: []profile.Arg{{Index: 1, Value: 0x5400 + 4000, Op: profile.OpEqualTo}}},
		profile.Syscall{Names: []string{"ioctl"}, Action: profile.ActTrap, Args: []profile.Arg{{Index: 1, Value: 0x5403, Op: profile.OpLessEqual}, {Index: 1, Value: 0x5403, Op: profile.OpGreaterEqual}}})
	_, err := Compile(p, Options{Arch: "x86_64"})
	if err == nil || !strings.HasSuffix(err.Error(), "conflicting rules: syscalls[3] (SCMP_ACT_ERRNO(1)) and syscalls[4097] (SCMP_ACT_TRAP) can both match") {
		t.Fatalf("Compile: %v", err)
	}
}

// TestCheckMatchesPairwise: the bucketed conflict check finds the pair the
// pairwise definition finds first, on random rules of few arguments and
// values (32- and 64-bit).
func TestCheckMatchesPairwise(t *testing.T) {
	pairwise := func(r *sysRules, bits int) error {
		for i, a := range r.conds {
			for _, b := range r.conds[i+1:] {
				if a.derived || b.derived || a.ret == b.ret || profile.Disjoint(a.args, b.args, bits) {
					continue
				}
				return r.conflictError(&a, &b)
			}
		}
		return nil
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	values := []uint64{0, 1, 2, 1<<32 | 1}
	for range 5000 {
		var r sysRules
		for k := range 1 + rnd.IntN(10) {
			c := condRule{ret: uint32(rnd.IntN(3)), src: k, derived: rnd.IntN(10) == 0}
			for range rnd.IntN(3) {
				c.args = append(c.args, profile.Arg{Index: uint(rnd.IntN(2)), Value: values[rnd.IntN(len(values))],
					Op: profile.KnownOperators[rnd.IntN(len(profile.KnownOperators))]})
			}
			r.conds = append(r.conds, c)
		}
		for _, bits := range []int{32, 64} {
			got, want := r.check(bits), pairwise(&r, bits)
			if (got == nil) != (want == nil) || (got != nil && got.Error() != want.Error()) {
				t.Fatalf("check(%d) = %v, pairwise %v\n%+v", bits, got, want, r.conds)
			}
		}
	}
}
