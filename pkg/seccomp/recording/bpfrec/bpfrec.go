// Package bpfrec is the in-kernel syscall recorder: an eBPF program on the
// raw_syscalls:sys_enter tracepoint sets, per mount namespace (one per
// container), the bit of every syscall number it sees, per ABI. No event
// per syscall goes to user space, so nothing can be dropped; user space
// reads the bitmaps (Entries) when it wants. A namespace the map has no room
// for is counted in the kernel (Lost) and listed (LostNamespaces), never
// silently skipped. design/2026-12-06-ebpf-recorder.md says why it is built
// this way.
//
// It is cgo-free: the program is compiled by make generate (bpf2go, clang)
// and committed; github.com/cilium/ebpf loads it with CO-RE against the
// running kernel's BTF. Linux on amd64 and arm64 only; elsewhere Open
// returns an error wrapping errors.ErrUnsupported.
package bpfrec

import "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"

// DefaultMaxNamespaces is the in-kernel map's size when
// Options.MaxNamespaces is 0.
const DefaultMaxNamespaces = 4096

// Options configure Open.
type Options struct {
	// MaxNamespaces is the number of mount namespaces the in-kernel map
	// holds (DefaultMaxNamespaces when 0). It is preallocated.
	MaxNamespaces int
	// PinPath, when set, is a directory on a bpffs (for example
	// /sys/fs/bpf/seccomp-operator): the maps and the link are pinned there
	// and reused when present, so an agent restart loses nothing and the
	// program stays attached across it.
	PinPath string
	// ExcludeMountNS is a mount namespace not to record (the host's: the
	// agent passes its init process's); 0 records every namespace.
	ExcludeMountNS uint64
	// ReplaceIncompatible replaces pinned objects whose layout does not
	// match this build or these options (a previous version of the
	// program, another MaxNamespaces) instead of failing: what they hold
	// cannot be read with this layout and is lost (Recorder.Replaced says
	// so). Without it Open fails and leaves them alone.
	ReplaceIncompatible bool
}

// Entry is what was recorded in one mount namespace.
type Entry struct {
	// MountNS is the namespace's inode (MountNamespace), what user space
	// knows a container by. The kernel reuses an inode once its namespace
	// is freed, so two entries can share it: a dead container's and a
	// new one's; ID tells them apart.
	MountNS uint64
	// ID is the namespace's id, never reused while the machine runs (the
	// key of the kernel's map).
	ID uint64
	// Pid is a process that recently made a syscall not yet seen in that
	// namespace (0 if none was recorded yet); user space maps it to a
	// container through /proc/<pid>/cgroup.
	Pid int
	// Syscalls are named with each ABI's own table (x86_64, x32, x86 on
	// amd64; aarch64, arm on arm64): every syscall of the namespace.
	Syscalls *recording.Set
	// Filtered are the syscalls made by tasks under a seccomp filter (a
	// subset of Syscalls, empty when no task had one). For a container
	// the runtime confines, these are its own and the runtime's after it
	// loaded the filter; the others are the runtime's set-up before
	// (mount, pivot_root, ...), which the container's profile need not
	// allow.
	Filtered *recording.Set
	// Runtime are the syscalls only the runtime's init made, without a
	// seccomp filter, before it exec'd the container's process (runc's
	// "runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]": mount,
	// pivot_root, keyctl, ...), and no other task of the namespace: a
	// subset of Syscalls, disjoint from Filtered. A container the runtime
	// leaves unconfined needs them only if the runtime does; a filter the
	// runtime loads after them never meets them.
	Runtime *recording.Set
}
