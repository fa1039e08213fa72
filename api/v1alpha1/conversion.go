package v1alpha1

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// ToProfile returns the OCI profile the spec describes. BaseProfileName,
// Mode and Disabled are not part of a profile: the caller flattens the base
// (profile.Flatten) and applies Complain mode (profile.Complain).
//
// Unset fields get the CRD's defaults, so a spec read from a file (which the
// apiserver never defaulted) means the same as one read from the cluster:
// no defaultAction is SCMP_ACT_ERRNO, nil Architectures are
// DefaultArchitectures(), while an empty non-nil Architectures means the
// node's native ABI only (an empty profile.Architectures).
func (s *SeccompProfileSpec) ToProfile() *profile.Profile {
	p := &profile.Profile{
		DefaultAction:    profile.Action(s.DefaultAction),
		DefaultErrnoRet:  copyUint(s.DefaultErrnoRet),
		ListenerPath:     s.ListenerPath,
		ListenerMetadata: s.ListenerMetadata,
	}
	if p.DefaultAction == "" {
		p.DefaultAction = profile.Action(DefaultAction)
	}
	archs := s.Architectures
	if archs == nil {
		archs = DefaultArchitectures()
	}
	if len(archs) > 0 {
		p.Architectures = make([]string, len(archs))
		for i, a := range archs {
			p.Architectures[i] = string(a)
		}
	}
	if s.Flags != nil {
		p.Flags = make([]string, len(s.Flags))
		for i, f := range s.Flags {
			p.Flags[i] = string(f)
		}
	}
	if s.Syscalls != nil {
		p.Syscalls = make([]profile.Syscall, len(s.Syscalls))
		for i := range s.Syscalls {
			r := &s.Syscalls[i]
			out := profile.Syscall{
				Names:    copyStrings(r.Names),
				Action:   profile.Action(r.Action),
				ErrnoRet: copyUint(r.ErrnoRet),
				Comment:  r.Comment,
			}
			if r.Args != nil {
				out.Args = make([]profile.Arg, len(r.Args))
				for j, a := range r.Args {
					out.Args[j] = profile.Arg{Index: a.Index, Value: uint64(a.Value), ValueTwo: uint64(a.ValueTwo), Op: profile.Operator(a.Op)}
				}
			}
			p.Syscalls[i] = out
		}
	}
	return p
}

// SpecFromProfile returns the spec of a resolved profile (see
// profile.Resolve): ToProfile of the result equals p, except that nil and
// empty Architectures both come back as nil (both mean "native ABI only").
// Mode is Enforce; BaseProfileName and Disabled are unset.
//
// What a resolved profile no longer has is not carried: ArchMap,
// Includes and Excludes are dropped, and a legacy Name is merged into Names.
// An empty profile Architectures becomes an explicit empty list, which the
// apiserver keeps, rather than nil, which it would default to
// DefaultArchitectures() and so widen the profile to other ABIs.
func SpecFromProfile(p *profile.Profile) SeccompProfileSpec {
	s := SeccompProfileSpec{
		DefaultAction:    Action(p.DefaultAction),
		DefaultErrnoRet:  copyUint(p.DefaultErrnoRet),
		ListenerPath:     p.ListenerPath,
		ListenerMetadata: p.ListenerMetadata,
		Mode:             ModeEnforce,
		Architectures:    make([]Arch, len(p.Architectures)),
	}
	for i, a := range p.Architectures {
		s.Architectures[i] = Arch(a)
	}
	if p.Flags != nil {
		s.Flags = make([]Flag, len(p.Flags))
		for i, f := range p.Flags {
			s.Flags[i] = Flag(f)
		}
	}
	if p.Syscalls != nil {
		s.Syscalls = make([]SyscallRule, len(p.Syscalls))
		for i := range p.Syscalls {
			r := &p.Syscalls[i]
			out := SyscallRule{
				Names:    copyStrings(r.AllNames()),
				Action:   Action(r.Action),
				ErrnoRet: copyUint(r.ErrnoRet),
				Comment:  r.Comment,
			}
			if r.Args != nil {
				out.Args = make([]Arg, len(r.Args))
				for j, a := range r.Args {
					out.Args[j] = Arg{Index: a.Index, Value: ArgValue(a.Value), ValueTwo: ArgValue(a.ValueTwo), Op: Operator(a.Op)}
				}
			}
			s.Syscalls[i] = out
		}
	}
	return s
}

// copyStrings copies in, keeping nil and empty apart.
func copyStrings(in []string) []string {
	if in == nil {
		return nil
	}
	return append(make([]string, 0, len(in)), in...)
}

func copyUint(u *uint) *uint {
	if u == nil {
		return nil
	}
	v := *u
	return &v
}
