// Package profile is the seccomp profile model: the OCI seccomp JSON that
// kubelets hand to runtimes (as written by runc, containerd, Docker and CRI-O,
// including Docker's archMap and conditional includes/excludes), its
// validation, and inheritance flattening. It knows nothing of Kubernetes.
package profile

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Action is a seccomp action name as in OCI / libseccomp ("SCMP_ACT_ALLOW").
type Action = specs.LinuxSeccompAction

// Operator is an argument comparison operator ("SCMP_CMP_EQ").
type Operator = specs.LinuxSeccompOperator

// Actions, as in the OCI runtime spec.
const (
	ActKill        Action = specs.ActKill // kill the thread (legacy name)
	ActKillThread  Action = specs.ActKillThread
	ActKillProcess Action = specs.ActKillProcess
	ActTrap        Action = specs.ActTrap
	ActErrno       Action = specs.ActErrno
	ActTrace       Action = specs.ActTrace
	ActAllow       Action = specs.ActAllow
	ActLog         Action = specs.ActLog
	ActNotify      Action = specs.ActNotify
)

// KnownActions lists every action the model accepts.
var KnownActions = []Action{ActKill, ActKillThread, ActKillProcess, ActTrap, ActErrno, ActTrace, ActAllow, ActLog, ActNotify}

// Operators, as in the OCI runtime spec.
const (
	OpNotEqual     Operator = specs.OpNotEqual
	OpLessThan     Operator = specs.OpLessThan
	OpLessEqual    Operator = specs.OpLessEqual
	OpEqualTo      Operator = specs.OpEqualTo
	OpGreaterEqual Operator = specs.OpGreaterEqual
	OpGreaterThan  Operator = specs.OpGreaterThan
	OpMaskedEqual  Operator = specs.OpMaskedEqual
)

// KnownOperators lists every comparison operator.
var KnownOperators = []Operator{OpNotEqual, OpLessThan, OpLessEqual, OpEqualTo, OpGreaterEqual, OpGreaterThan, OpMaskedEqual}

// Filter flags (seccomp(2) SECCOMP_FILTER_FLAG_*), as named in OCI.
const (
	FlagLog          = "SECCOMP_FILTER_FLAG_LOG"
	FlagSpecAllow    = "SECCOMP_FILTER_FLAG_SPEC_ALLOW"
	FlagWaitKillable = "SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV"
	FlagTSync        = "SECCOMP_FILTER_FLAG_TSYNC"
	FlagNewListener  = "SECCOMP_FILTER_FLAG_NEW_LISTENER"
	FlagTSyncESRCH   = "SECCOMP_FILTER_FLAG_TSYNC_ESRCH"
)

// KnownFlags lists the flags a profile may request.
var KnownFlags = []string{FlagLog, FlagSpecAllow, FlagWaitKillable, FlagTSync, FlagNewListener, FlagTSyncESRCH}

// Profile is an OCI seccomp profile as found in the files under a kubelet's
// seccomp root. Field names and JSON tags follow the formats of runc
// (runtime-spec LinuxSeccomp), Docker/moby (archMap, includes/excludes, name,
// comment) and CRI-O, so that any of their profiles round-trips unchanged.
type Profile struct {
	DefaultAction    Action    `json:"defaultAction"`
	DefaultErrnoRet  *uint     `json:"defaultErrnoRet,omitempty"`
	Architectures    []string  `json:"architectures,omitempty"`
	ArchMap          []ArchMap `json:"archMap,omitempty"`
	Flags            []string  `json:"flags,omitempty"`
	ListenerPath     string    `json:"listenerPath,omitempty"`
	ListenerMetadata string    `json:"listenerMetadata,omitempty"`
	Syscalls         []Syscall `json:"syscalls,omitempty"`
}

// ArchMap is Docker's mapping from a native architecture to the compat ABIs a
// host of it can also run; when Architectures is empty, the ArchMap entry for
// the host selects the architectures.
type ArchMap struct {
	Arch      string   `json:"architecture"`
	SubArches []string `json:"subArchitectures"`
}

// Syscall is one rule: the named syscalls get Action when all Args match.
type Syscall struct {
	Names    []string `json:"names,omitempty"`
	Name     string   `json:"name,omitempty"` // Docker's legacy single name
	Action   Action   `json:"action"`
	ErrnoRet *uint    `json:"errnoRet,omitempty"`
	Args     []Arg    `json:"args,omitempty"`
	Comment  string   `json:"comment,omitempty"`
	Includes *Filter  `json:"includes,omitempty"`
	Excludes *Filter  `json:"excludes,omitempty"`
}

// NameCount bounds how many syscall names p's rules give (each rule's names
// plus room for its legacy name): the size of per-name tables that
// validation and compilation build.
func (p *Profile) NameCount() int {
	n := 0
	for i := range p.Syscalls {
		n += len(p.Syscalls[i].Names) + 1
	}
	return n
}

// AllNames returns Names plus the legacy Name, if set.
func (s *Syscall) AllNames() []string {
	if s.Name == "" {
		return s.Names
	}
	return append(append([]string(nil), s.Names...), s.Name)
}

// Arg is a comparison of one syscall argument. For SCMP_CMP_MASKED_EQ,
// Value is the mask and ValueTwo the value the masked argument must equal
// (as in runc and libseccomp).
type Arg struct {
	Index    uint     `json:"index"`
	Value    uint64   `json:"value"`
	ValueTwo uint64   `json:"valueTwo,omitempty"`
	Op       Operator `json:"op"`
}

// Filter is Docker's condition on a rule: it applies only when the container
// has all Caps, runs on one of Arches, and the kernel is at least MinKernel.
type Filter struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// IsEmpty reports whether f sets no condition.
func (f *Filter) IsEmpty() bool {
	return f == nil || (len(f.Caps) == 0 && len(f.Arches) == 0 && f.MinKernel == "")
}

// DeepCopy returns an independent copy of p.
func (p *Profile) DeepCopy() *Profile {
	if p == nil {
		return nil
	}
	out := *p
	out.DefaultErrnoRet = copyUint(p.DefaultErrnoRet)
	out.Architectures = append([]string(nil), p.Architectures...)
	out.Flags = append([]string(nil), p.Flags...)
	if p.ArchMap != nil {
		out.ArchMap = make([]ArchMap, len(p.ArchMap))
		for i, m := range p.ArchMap {
			out.ArchMap[i] = ArchMap{Arch: m.Arch, SubArches: append([]string(nil), m.SubArches...)}
		}
	}
	if p.Syscalls != nil {
		out.Syscalls = make([]Syscall, len(p.Syscalls))
		for i, s := range p.Syscalls {
			c := s
			c.Names = append([]string(nil), s.Names...)
			c.ErrnoRet = copyUint(s.ErrnoRet)
			c.Args = append([]Arg(nil), s.Args...)
			c.Includes = s.Includes.deepCopy()
			c.Excludes = s.Excludes.deepCopy()
			out.Syscalls[i] = c
		}
	}
	return &out
}

func (f *Filter) deepCopy() *Filter {
	if f == nil {
		return nil
	}
	return &Filter{Caps: append([]string(nil), f.Caps...), Arches: append([]string(nil), f.Arches...), MinKernel: f.MinKernel}
}

func copyUint(u *uint) *uint {
	if u == nil {
		return nil
	}
	v := *u
	return &v
}
