package enricher

import (
	"context"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Source delivers the kernel's seccomp records (audit type 1326).
type Source interface {
	// Name says where the records come from ("audit-netlink").
	Name() string
	// Open subscribes to the records; its error says why the node's
	// records cannot be read (a missing capability).
	Open() error
	// Run reads records of the open source until ctx ends, calling handle
	// with the payload of each, from one goroutine; handle must not keep
	// the slice. It returns nil when ctx ends, an error when the source
	// breaks (then it is closed, and Open may be tried again).
	Run(ctx context.Context, handle func(payload []byte)) error
	// Stats returns what the source lost so far.
	Stats() SourceStats
}

// SourceStats counts the records a source lost since it started.
type SourceStats struct {
	// Overruns: records the socket dropped (ENOBUFS).
	Overruns uint64
	// KernelLost: growth of the kernel audit's lost counter, when
	// KernelLostKnown (the agent may lack the right to ask).
	KernelLost      uint64
	KernelLostKnown bool
	// Malformed: netlink messages the source could not frame (each may
	// have been a record).
	Malformed uint64
}

// Lost is every record known lost.
func (s SourceStats) Lost() uint64 { return s.Overruns + s.KernelLost + s.Malformed }

// Processes maps a process to its container.
type Processes interface {
	// ContainerID returns the bare runtime ID of pid's container, "" for a
	// process in no container; ok is false when the process is gone and
	// not remembered.
	ContainerID(pid int) (id string, ok bool)
}

// Kernel reads the seccomp state of the node's processes from /proc.
type Kernel interface {
	// Containers returns the pids of every running container by bare
	// runtime ID.
	Containers() (map[string][]int, error)
	// Seccomp returns a process's seccomp mode and its number of filters.
	Seccomp(pid int) (mode v1alpha1.SeccompMode, filters int, err error)
}
