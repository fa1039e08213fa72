package recording

import (
	"slices"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
	"golang.org/x/sys/unix"
)

func TestSetNamesEachSyscallWithItsOwnABI(t *testing.T) {
	var s Set
	// Number 5 is fstat on x86_64 and open on i386; x32 carries its bit.
	if !s.AddAudit(unix.AUDIT_ARCH_X86_64, 5) || !s.AddAudit(unix.AUDIT_ARCH_I386, 5) ||
		!s.AddAudit(unix.AUDIT_ARCH_X86_64, int(syscalls.X32SyscallBit)|0) {
		t.Fatal("known syscalls not named")
	}
	if got := s.NamesOf("x86_64"); !slices.Equal(got, []string{"fstat"}) {
		t.Errorf("x86_64: %v", got)
	}
	if got := s.NamesOf("x86"); !slices.Equal(got, []string{"open"}) {
		t.Errorf("x86: %v", got)
	}
	if got := s.NamesOf("x32"); !slices.Equal(got, []string{"read"}) {
		t.Errorf("x32: %v", got)
	}
	if got := s.ABIs(); !slices.Equal(got, []string{"x32", "x86", "x86_64"}) {
		t.Errorf("ABIs: %v", got)
	}
	if got := s.Names(); !slices.Equal(got, []string{"fstat", "open", "read"}) {
		t.Errorf("names: %v", got)
	}
	if s.AddAudit(unix.AUDIT_ARCH_X86_64, 4000) {
		t.Error("an unnamed number was named")
	}
	if got := s.Unnamed(); !slices.Equal(got, []string{"x86_64:#4000"}) {
		t.Errorf("unnamed: %v", got)
	}
	var m Set
	m.Merge(&s)
	if !slices.Equal(m.Names(), s.Names()) || !slices.Equal(m.Unnamed(), s.Unnamed()) {
		t.Errorf("merge lost syscalls: %v %v", m.Names(), m.Unnamed())
	}
}

func TestProfileAllowsExactlyTheRecording(t *testing.T) {
	var s Set
	s.Add("x86_64", "read")
	s.Add("x86_64", "write")
	s.Add("x86", "open")
	p := Profile(&s, ProfileOptions{Native: "x86_64"})
	if p.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("default %s", p.DefaultAction)
	}
	if want := []string{"SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"}; !slices.Equal(p.Architectures, want) {
		t.Errorf("architectures %v, want %v", p.Architectures, want)
	}
	if len(p.Syscalls) != 2 || !slices.Equal(p.Syscalls[0].Names, []string{"open", "read", "write"}) {
		t.Fatalf("rules %+v", p.Syscalls)
	}
	x86 := syscalls.MustGet("x86_64")
	for name, want := range map[string]struct {
		action profile.Action
		errno  uint
	}{"read": {"SCMP_ACT_ALLOW", 0}, "mkdir": {"SCMP_ACT_ERRNO", 1}, "clone3": {"SCMP_ACT_ERRNO", 38}} {
		nr, _ := x86.Lookup(name)
		got, errno, err := profile.Evaluate(p, x86, nr, [6]uint64{})
		if err != nil || got != want.action || errno != want.errno {
			t.Errorf("%s: %s errno %d %v, want %s errno %d", name, got, errno, err, want.action, want.errno)
		}
	}
	// Recorded, clone3 is allowed like any other.
	s.Add("x86_64", "clone3")
	if p := Profile(&s, ProfileOptions{Native: "x86_64"}); len(p.Syscalls) != 1 || !slices.Contains(p.Syscalls[0].Names, "clone3") {
		t.Errorf("recorded clone3: %+v", p.Syscalls)
	}

	base := &profile.Profile{DefaultAction: "SCMP_ACT_ERRNO", Architectures: []string{"SCMP_ARCH_AARCH64"},
		Syscalls: []profile.Syscall{{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"},
			{Names: []string{"write"}, Action: "SCMP_ACT_ALLOW", Args: []profile.Arg{{Index: 0, Value: 1, Op: "SCMP_CMP_EQ"}}}}}
	p = Profile(&s, ProfileOptions{Base: base, Native: "x86_64"})
	if len(p.Syscalls) != 3 || !slices.Equal(p.Syscalls[2].Names, []string{"clone3", "open", "write"}) {
		t.Errorf("with a base: %+v", p.Syscalls)
	}
	if len(base.Syscalls) != 2 {
		t.Error("the base was changed")
	}
	if !slices.Contains(p.Architectures, "SCMP_ARCH_AARCH64") {
		t.Errorf("base architectures dropped: %v", p.Architectures)
	}
}
