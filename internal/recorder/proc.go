package recorder

import (
	"github.com/seccomp-operator/seccomp-operator/internal/procfs"
)

// Processes is what the recorder reads of /proc.
type Processes interface {
	// ContainerID is the bare runtime ID of pid's container, "" for a
	// process of the host; false when the process is gone unremembered.
	ContainerID(pid int) (string, bool)
	// Now is the present on Started's clock.
	Now() (uint64, error)
	// Started maps every running container's ID to when its earliest live
	// process started (its init process, which the runtime starts first).
	Started() (map[string]uint64, error)
}

// Proc is Processes over internal/procfs. Its Cache may be the enricher's
// (one pid → container cache per agent).
type Proc struct {
	Root  string
	Cache *procfs.Cache
}

var _ Processes = (*Proc)(nil)

// NewProc reads root ("/proc", or the host's proc mounted elsewhere) with
// cache, or a cache of its own when cache is nil.
func NewProc(root string, cache *procfs.Cache) *Proc {
	if cache == nil {
		cache = procfs.NewCache(root, procfs.DefaultCacheSize)
	}
	return &Proc{Root: root, Cache: cache}
}

func (p *Proc) ContainerID(pid int) (string, bool) { return p.Cache.ContainerID(pid) }

func (p *Proc) Now() (uint64, error) { return procfs.BootTicks() }

func (p *Proc) Started() (map[string]uint64, error) {
	byID, err := p.Cache.Scan()
	if err != nil {
		return nil, err
	}
	out := make(map[string]uint64, len(byID))
	for id, pids := range byID {
		for _, pid := range pids {
			st, err := procfs.StartTime(p.Root, pid)
			if err != nil {
				continue // exited since the scan
			}
			if cur, ok := out[id]; !ok || st < cur {
				out[id] = st
			}
		}
	}
	return out, nil
}
