package recorder

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// Kernel is the in-kernel recorder (pkg/seccomp/recording/bpfrec's
// Recorder, which cmd/agent adapts): a bitmap of syscalls per mount
// namespace, filled by a program attached to raw_syscalls:sys_enter.
type Kernel interface {
	// Attach attaches the program; Detach detaches it (then a syscall
	// costs nothing); Attached says whether it is attached.
	Attach() error
	Detach() error
	Attached() bool
	// Close releases the program and maps (pinned ones stay pinned);
	// Unpin removes the pins.
	Close() error
	Unpin() error
	// Entries reads every mount namespace's bitmap.
	Entries() ([]Entry, error)
	// Delete forgets the bitmaps of a mount namespace inode (every entry
	// sharing it: their slots are free again).
	Delete(mntns uint64) error
	// Lost counts mount namespaces the map had no room for.
	Lost() (uint64, error)
	// MapBytes is the kernel memory of the maps.
	MapBytes() int
}

// PidFinder is what a Kernel may also offer: a live process of a mount
// namespace (bpfrec.PidInMountNS), for an entry whose Pid has exited (the
// last process to make a new syscall is often a short-lived child).
type PidFinder interface {
	PidInMountNS(mntns uint64) (int, bool)
}

// Entry is one mount namespace's syscalls as the kernel holds them.
type Entry struct {
	// MountNS is the namespace's inode. The kernel reuses an inode once
	// its namespace is freed, so a dead container's entry and a new one's
	// can share it; ID tells them apart.
	MountNS uint64
	// ID is the namespace's id, never reused while the machine runs; 0
	// when the kernel recorder gives none (then MountNS identifies it).
	ID uint64
	// Pid is a process recently seen in the namespace (in the host's pid
	// namespace): how the namespace is attributed to a container.
	Pid      int
	Syscalls *recording.Set
	// Filtered are the syscalls of tasks under a seccomp filter (a subset
	// of Syscalls; nil when the kernel recorder does not tell them apart).
	Filtered *recording.Set
	// Runtime are the syscalls only the runtime's init made, without a
	// filter, before it exec'd the container's process (runc's set-up: a
	// subset of Syscalls; nil when the kernel recorder does not tell them
	// apart).
	Runtime *recording.Set
}

// Options of an in-kernel recorder.
type Options struct {
	// MaxNamespaces is the number of mount namespaces the map holds.
	MaxNamespaces int
	// PinPath is a bpffs directory where the maps are pinned so that they
	// survive an agent restart; "" pins nothing.
	PinPath string
	// ExcludeMountNS is a mount namespace not to record (the agent's own).
	ExcludeMountNS uint64
}

// OpenFunc opens the in-kernel recorder.
type OpenFunc func(Options) (Kernel, error)

// ProbeFunc says, without loading anything, whether an earlier agent left
// pinned in-kernel state under Options.PinPath (then the recorder opens
// the kernel at start to take it over), and why the in-kernel recorder
// cannot be opened on this node, when that can be told without loading
// it (nil does not promise that Open succeeds).
type ProbeFunc func(Options) (leftover bool, unavailable error)

// key identifies an entry across harvests.
func (e *Entry) key() uint64 {
	if e.ID != 0 {
		return e.ID
	}
	return e.MountNS
}
