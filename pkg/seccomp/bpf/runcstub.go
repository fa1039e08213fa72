package bpf

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// enosys is SECCOMP_RET_ERRNO with ENOSYS, what runc's stub answers.
const enosys = RetErrno | 38

// runcStub models the -ENOSYS stub runc (libcontainer/seccomp/patchbpf,
// v1.0.0 and later) runs before the program libseccomp compiled from the
// profile: unless the default action lets syscalls run (ALLOW, LOG, TRACE),
// a syscall number above the largest one the profile's rules name on its
// ABI gets ENOSYS, so that programs fall back from syscalls newer than the
// profile instead of failing with the default errno. runc computes the
// largest number per ABI of the profile's architectures plus the native one,
// over every rule (those with the default action too) and over the names
// its libseccomp knows; on x86_64 the x32 ABI is told apart by bit 30 of the
// number (JSET), not by libseccomp's "number >= bit 30" (JGE).
type runcStub struct {
	// last maps an AUDIT_ARCH value to the largest number per ABI name.
	last map[uint32]map[string]uint32
}

// newRuncStub returns nil when runc adds no stub for p.
func newRuncStub(p *profile.Profile, native *syscalls.Arch) *runcStub {
	switch p.DefaultAction {
	case profile.ActAllow, profile.ActLog, profile.ActTrace:
		return nil
	}
	abis := map[*syscalls.Arch]bool{native: true}
	for _, name := range p.Architectures {
		if a, ok := syscalls.Get(name); ok && a.HasTable {
			abis[a] = true
		}
	}
	s := &runcStub{last: map[uint32]map[string]uint32{}}
	for abi := range abis {
		var largest uint32
		found := false
		for _, rule := range p.Syscalls {
			for _, n := range rule.AllNames() {
				if nr, ok := abi.Lookup(n); ok && (!found || uint32(nr) > largest) {
					largest, found = uint32(nr), true
				}
			}
		}
		if !found {
			continue
		}
		if s.last[abi.Audit] == nil {
			s.last[abi.Audit] = map[string]uint32{}
		}
		s.last[abi.Audit][abi.Name] = largest
	}
	return s
}

// verdict returns ENOSYS and true when the stub answers (arch, nr) itself.
func (s *runcStub) verdict(arch, nr uint32) (uint32, bool) {
	if s == nil {
		return 0, false
	}
	m := s.last[arch]
	if len(m) == 0 {
		return 0, false
	}
	if arch == syscalls.MustGet("x86_64").Audit {
		name := "x86_64"
		if nr&syscalls.X32SyscallBit != 0 {
			name = "x32"
		}
		last, ok := m[name]
		if !ok || nr <= last {
			return 0, false
		}
		return enosys, true
	}
	for _, last := range m {
		if arch == syscalls.MustGet("s390x").Audit || arch == syscalls.MustGet("s390").Audit {
			// s390's multiplexer for numbers too large for the
			// instruction: runc answers it with ENOSYS too.
			if nr == 0 {
				return enosys, true
			}
		}
		if nr > last {
			return enosys, true
		}
	}
	return 0, false
}
