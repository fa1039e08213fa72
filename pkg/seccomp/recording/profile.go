package recording

import (
	"slices"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// ProfileOptions says how Profile writes a learned profile.
type ProfileOptions struct {
	// Base, when set, is the profile the learned one starts from: its
	// rules are kept and the recorded names it does not already allow
	// unconditionally are added in one rule. Without it the profile
	// denies everything but the recorded names.
	Base *profile.Profile
	// Native is the native ABI of the machine the profile is for
	// ("x86_64", "aarch64"): its whole family is listed in architectures,
	// so that an ABI the recording did not see is still filtered by the
	// same list rather than left to the runtime's bad-arch action.
	Native string
}

// Profile returns the OCI profile that allows exactly the syscalls of s:
// default action SCMP_ACT_ERRNO (EPERM), one SCMP_ACT_ALLOW rule with the
// names, and architectures for the ABIs seen plus opts.Native's family
// (SCMP_ARCH_* names, sorted).
func Profile(s *Set, opts ProfileOptions) *profile.Profile {
	arches := map[string]struct{}{}
	for _, abi := range s.ABIs() {
		if a, ok := syscalls.Get(abi); ok {
			arches[a.SCMP()] = struct{}{}
		}
	}
	for _, a := range syscalls.Family(opts.Native) {
		arches[a.SCMP()] = struct{}{}
	}
	names := s.Names()
	var p profile.Profile
	if opts.Base != nil {
		p = *opts.Base
		p.Syscalls = slices.Clone(opts.Base.Syscalls)
		names = slices.DeleteFunc(names, func(n string) bool { return allowsUnconditionally(opts.Base, n) })
		for _, a := range opts.Base.Architectures {
			arches[a] = struct{}{}
		}
	} else {
		p.DefaultAction = "SCMP_ACT_ERRNO"
	}
	p.Architectures = make([]string, 0, len(arches))
	for a := range arches {
		p.Architectures = append(p.Architectures, a)
	}
	slices.Sort(p.Architectures)
	if len(names) > 0 {
		p.Syscalls = append(p.Syscalls, profile.Syscall{Names: names, Action: "SCMP_ACT_ALLOW"})
	}
	var probes []string
	for _, n := range ENOSYSProbes {
		if !s.Has(n) && (opts.Base == nil || !allowsUnconditionally(opts.Base, n)) {
			probes = append(probes, n)
		}
	}
	if len(probes) > 0 {
		enosys := uint(unix.ENOSYS)
		p.Syscalls = append(p.Syscalls, profile.Syscall{Names: probes, Action: "SCMP_ACT_ERRNO", ErrnoRet: &enosys,
			Comment: "not recorded: answered ENOSYS, as runtimes' default profiles do, so that libc falls back to the older call"})
	}
	return &p
}

// ENOSYSProbes are syscalls C libraries try first and give up on only when
// the kernel answers ENOSYS, falling back to an older call (glibc's
// clone3 → clone for every fork, posix_spawn and thread). A workload
// recorded under the runtime's default profile never made them (that
// profile answers ENOSYS before any recorder sees the call), and EPERM,
// the learned profile's default answer, would make the same fork fail
// instead of falling back: a learned profile that does not allow them
// answers ENOSYS, as the runtimes' profiles do.
var ENOSYSProbes = []string{"clone3"}

// allowsUnconditionally reports whether a rule of p allows name whatever the
// arguments.
func allowsUnconditionally(p *profile.Profile, name string) bool {
	for i := range p.Syscalls {
		r := &p.Syscalls[i]
		if r.Action == "SCMP_ACT_ALLOW" && len(r.Args) == 0 && r.Includes == nil && r.Excludes == nil && slices.Contains(r.AllNames(), name) {
			return true
		}
	}
	return false
}
