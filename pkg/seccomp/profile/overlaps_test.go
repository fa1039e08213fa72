package profile

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// randomProfile builds a small profile whose rules overlap often: a few
// syscalls (x86's multiplexed socket and ipc calls among them), a few
// verdicts, comparisons on few arguments and values (beyond 32 bits too),
// conditional rules, identical rules and names given twice.
func randomProfile(r *rand.Rand) *Profile {
	names := []string{"read", "ioctl", "socket", "socketcall", "recvmmsg", "ipc", "msgget", "personality", "open", "swapcontext"}
	archSets := [][]string{nil, {"SCMP_ARCH_X86_64"}, {"SCMP_ARCH_X86"}, {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_AARCH64"}}
	values := []uint64{0, 1, 2, 3, 0xffffffff, 1<<32 | 1}
	p := &Profile{DefaultAction: ActErrno, Architectures: archSets[r.IntN(len(archSets))]}
	for range 1 + r.IntN(12) {
		if len(p.Syscalls) > 0 && r.IntN(8) == 0 {
			c := p.Syscalls[r.IntN(len(p.Syscalls))]
			c.Comment = "again"
			p.Syscalls = append(p.Syscalls, c)
			continue
		}
		var s Syscall
		for range 1 + r.IntN(3) {
			s.Names = append(s.Names, names[r.IntN(len(names))])
		}
		switch r.IntN(5) {
		case 0:
			s.Action = ActAllow
		case 1:
			s.Action = ActErrno
		case 2:
			s.Action, s.ErrnoRet = ActErrno, uintp(uint(r.IntN(3)))
		case 3:
			s.Action = ActTrap
		default:
			s.Action = ActLog
		}
		for range r.IntN(3) {
			s.Args = append(s.Args, Arg{Index: uint(r.IntN(3)), Value: values[r.IntN(len(values))],
				ValueTwo: values[r.IntN(len(values))], Op: KnownOperators[r.IntN(len(KnownOperators))]})
		}
		if r.IntN(5) == 0 {
			s.Includes = &Filter{Caps: []string{"CAP_SYS_ADMIN"}}
		}
		p.Syscalls = append(p.Syscalls, s)
	}
	return p
}

// checkAgainstQuadratic fails t when Validate or ValidateErrors differ from
// the quadratic definition.
func checkAgainstQuadratic(t *testing.T, p *Profile) {
	t.Helper()
	got, want := Validate(p), validateQuadratic(p, maxPairIssues)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Validate differs from the quadratic definition\ngot:\n%v\nwant:\n%v\nprofile: %+v", got, want, p)
	}
	if only, errs := ValidateErrors(p), want.Errors(); !reflect.DeepEqual(only, errs) {
		t.Fatalf("ValidateErrors:\n%v\nwant:\n%v", only, errs)
	}
}

// TestValidateMatchesQuadratic: the near-linear checks give the issues of
// the pairwise definition, in the same order, on random profiles.
func TestValidateMatchesQuadratic(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		checkAgainstQuadratic(t, randomProfile(r))
	}
}

// FuzzValidateOverlaps is TestValidateMatchesQuadratic on the profiles of
// any seed. Seeds: testdata/fuzz/FuzzValidateOverlaps.
func FuzzValidateOverlaps(f *testing.F) {
	f.Add(uint64(1), uint64(2))
	f.Fuzz(func(t *testing.T, a, b uint64) {
		checkAgainstQuadratic(t, randomProfile(rand.New(rand.NewPCG(a, b))))
	})
}

// TestValidateRealProfilesUncapped: on the runtimes' default profiles (as
// written and resolved) no issue is left out by maxPairIssues: the result
// is the full pairwise definition's.
func TestValidateRealProfilesUncapped(t *testing.T) {
	for _, d := range runtimedefault.All() {
		name := d.Ref()
		p, err := Parse(d.Data())
		if err != nil {
			t.Fatal(err)
		}
		r, err := Resolve(p, Env{Arch: "amd64", Caps: DefaultCaps, KernelVersion: "5.10.0"})
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range []*Profile{p, r} {
			if got, want := Validate(q), validateQuadratic(q, -1); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: Validate differs from the uncapped definition\ngot:\n%v\nwant:\n%v", name, got, want)
			}
		}
	}
}

// TestValidatePairCap: n rules for one syscall that all pair with each
// other give maxPairIssues issues per name and one saying more were left
// out, not n².
func TestValidatePairCap(t *testing.T) {
	p := &Profile{DefaultAction: ActErrno, Architectures: []string{"SCMP_ARCH_X86_64"}}
	for i := range 2000 {
		act := ActAllow
		if i%2 == 1 {
			act = ActLog
		}
		p.Syscalls = append(p.Syscalls, Syscall{Names: []string{"ioctl"}, Action: act, Args: []Arg{{Index: 1, Value: uint64(i), Op: OpGreaterEqual}}})
	}
	errs := Validate(p).Errors()
	var last []Issue
	for _, e := range errs {
		if e.Field == "syscalls[1999].names[0]" {
			last = append(last, e)
		}
	}
	if len(last) != maxPairIssues+1 || !strings.HasPrefix(last[maxPairIssues].Message, "and more errors pairing this name with other rules") {
		t.Fatalf("issues of syscalls[1999]: %v", last)
	}
	if len(errs) > 2000*(maxPairIssues+1) {
		t.Fatalf("%d errors, want at most %d per rule", len(errs), maxPairIssues+1)
	}
}

// TestValidateLinear: validation of a flattened chain's worth of rules
// (16 × 1,024) stays far from the quadratic checks' minute; a timing bound
// generous enough for a loaded CI machine (the benchmark measures it).
func TestValidateLinear(t *testing.T) {
	p := largeProfile(16384)
	start := time.Now()
	if errs := ValidateErrors(p); len(errs) != 0 {
		t.Fatal(errs[0])
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("ValidateErrors of 16,384 rules took %v", d)
	}
}

// TestValidateMaxRules: a profile of more than MaxRules rules gets one
// error naming the count and the limit, and no other check runs.
func TestValidateMaxRules(t *testing.T) {
	p := &Profile{DefaultAction: ActErrno, Syscalls: make([]Syscall, MaxRules+1)}
	is := Validate(p)
	if len(is) != 1 || is[0].String() != `syscalls: "32769": 32769 rules, more than the 32768 a profile may have: merge rules that share an action and comparisons (names lists many syscalls)` {
		t.Fatalf("Validate = %v", is)
	}
	p.Syscalls = p.Syscalls[:MaxRules]
	if is := ValidateErrors(p); len(is) == 0 || is[0].Field == "syscalls" {
		t.Fatalf("at the limit: %v", is[:1])
	}
}
