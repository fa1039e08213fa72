// Package bpf compiles a seccomp profile into a classic BPF program in the
// kernel's seccomp ABI, runs such programs in a simulator, and prints them.
// It is pure Go (no cgo) and has no Kubernetes in it.
package bpf

import (
	"golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Data is struct seccomp_data as the kernel passes it to a filter.
type Data struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

// SeccompData offsets (include/uapi/linux/seccomp.h).
const (
	OffNr   = 0
	OffArch = 4
	OffIP   = 8
	OffArgs = 16
	// DataSize is sizeof(struct seccomp_data).
	DataSize = 64
)

// Kernel return values (SECCOMP_RET_*).
const (
	RetKillProcess uint32 = 0x80000000
	RetKillThread  uint32 = 0x00000000
	RetTrap        uint32 = 0x00030000
	RetErrno       uint32 = 0x00050000
	RetUserNotif   uint32 = 0x7fc00000
	RetTrace       uint32 = 0x7ff00000
	RetLog         uint32 = 0x7ffc0000
	RetAllow       uint32 = 0x7fff0000
	RetActionFull  uint32 = 0xffff0000
	RetData        uint32 = 0x0000ffff
)

// Program is a compiled filter for one host architecture family.
type Program struct {
	// Native is the host ABI; Arches are the ABIs the program admits,
	// native first (e.g. x86_64, x86, x32). Any other arch gets BadArch.
	Native *syscalls.Arch
	Arches []*syscalls.Arch
	// Instructions is the program, as the kernel takes it.
	Instructions []bpf.RawInstruction
	// Flags are SECCOMP_FILTER_FLAG_* bits to pass to seccomp(2).
	Flags uint
	// Skipped lists, per ABI, the rule syscall names that ABI does not
	// have (e.g. arch_prctl on x86): skipped like runc and libseccomp do.
	Skipped map[string][]string
}

// Result is what Simulate returns: the raw SECCOMP_RET_* value and how many
// instructions the program executed to reach it.
type Result struct {
	Ret      uint32
	Executed int
}
