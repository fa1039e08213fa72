// Package recording holds what a recorder saw: the syscalls a workload made,
// per ABI, and the profile that allows exactly them. Every recorder (the
// CLI's user notifications, the eBPF bitmaps, the violations stream) and the
// manager's merge build Sets, and every learned profile comes from Profile.
package recording

import (
	"fmt"
	"slices"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Set is the syscalls a workload made, by ABI (syscalls.Arch names:
// x86_64, x32, x86, aarch64, arm, ...). Each syscall is named with its own
// ABI's table: a 32-bit child's number 5 is i386's open, not x86_64's fstat.
// The zero value is empty and ready to use.
type Set struct {
	abis map[string]map[string]struct{}
	// unnamed counts syscalls whose number the ABI's table does not name
	// (a kernel newer than the tables): they cannot go into a profile by
	// name, so they are reported instead of dropped silently.
	unnamed map[string]map[int]struct{}
}

// Add records name on the ABI abi.
func (s *Set) Add(abi, name string) {
	if s.abis == nil {
		s.abis = map[string]map[string]struct{}{}
	}
	m := s.abis[abi]
	if m == nil {
		m = map[string]struct{}{}
		s.abis[abi] = m
	}
	m[name] = struct{}{}
}

// AddNumber records syscall number nr of ABI a, named with a's table. It
// reports whether the table names it; an unnamed number is kept in
// Unnamed.
func (s *Set) AddNumber(a *syscalls.Arch, nr int) bool {
	if name, ok := a.NameOf(nr); ok {
		s.Add(a.Name, name)
		return true
	}
	if s.unnamed == nil {
		s.unnamed = map[string]map[int]struct{}{}
	}
	m := s.unnamed[a.Name]
	if m == nil {
		m = map[int]struct{}{}
		s.unnamed[a.Name] = m
	}
	m[nr] = struct{}{}
	return false
}

// AddAudit records a syscall as the kernel reports it (seccomp_data's or an
// audit record's arch and number); false when the ABI is unknown or the
// number unnamed.
func (s *Set) AddAudit(audit uint32, nr int) bool {
	a, ok := syscalls.ByAudit(audit, nr)
	if !ok {
		return false
	}
	return s.AddNumber(a, nr)
}

// Merge adds every syscall of o.
func (s *Set) Merge(o *Set) {
	for abi, m := range o.abis {
		for n := range m {
			s.Add(abi, n)
		}
	}
	for abi, m := range o.unnamed {
		a, ok := syscalls.Get(abi)
		if !ok {
			continue
		}
		for nr := range m {
			s.AddNumber(a, nr)
		}
	}
}

// ABIs returns the ABIs seen, sorted.
func (s *Set) ABIs() []string {
	out := make([]string, 0, len(s.abis))
	for abi := range s.abis {
		out = append(out, abi)
	}
	slices.Sort(out)
	return out
}

// Names returns the union of the names over every ABI, sorted.
func (s *Set) Names() []string {
	seen := map[string]struct{}{}
	for _, m := range s.abis {
		for n := range m {
			seen[n] = struct{}{}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// NamesOf returns the names seen on one ABI, sorted.
func (s *Set) NamesOf(abi string) []string {
	out := make([]string, 0, len(s.abis[abi]))
	for n := range s.abis[abi] {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// Has reports whether name was seen on any ABI.
func (s *Set) Has(name string) bool {
	for _, m := range s.abis {
		if _, ok := m[name]; ok {
			return true
		}
	}
	return false
}

// Len is the number of distinct names over every ABI.
func (s *Set) Len() int { return len(s.Names()) }

// Unnamed returns the numbers no table names, as "abi:#nr", sorted.
func (s *Set) Unnamed() []string {
	var out []string
	for abi, m := range s.unnamed {
		for nr := range m {
			out = append(out, fmt.Sprintf("%s:#%d", abi, nr))
		}
	}
	slices.Sort(out)
	return out
}
