package enricher

import (
	"os"
	"path/filepath"
	"strconv"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/procfs"
)

// Proc is Processes and Kernel over internal/procfs, the one reader of
// /proc: its Cache attributes records of processes that have exited, and
// its scans (every ScanInterval) fill that cache.
type Proc struct {
	Root  string
	Cache *procfs.Cache
}

var (
	_ Processes = (*Proc)(nil)
	_ Kernel    = (*Proc)(nil)
)

// NewProc reads root ("/proc", or the host's proc mounted elsewhere).
func NewProc(root string) *Proc {
	return &Proc{Root: root, Cache: procfs.NewCache(root, procfs.DefaultCacheSize)}
}

// ContainerID asks the cache; when it has no container, a process that
// still exists is one of the host's, else it is gone unremembered.
func (p *Proc) ContainerID(pid int) (string, bool) {
	if c, ok := p.Cache.Lookup(pid); ok {
		return c.ID, true
	}
	if _, err := os.Stat(filepath.Join(p.Root, strconv.Itoa(pid))); err == nil {
		return "", true
	}
	return "", false
}

func (p *Proc) Containers() (map[string][]int, error) { return p.Cache.Scan() }

var procModes = map[procfs.SeccompMode]v1alpha1.SeccompMode{
	procfs.SeccompDisabled: v1alpha1.SeccompModeDisabled,
	procfs.SeccompStrict:   v1alpha1.SeccompModeStrict,
	procfs.SeccompFilter:   v1alpha1.SeccompModeFilter,
}

func (p *Proc) Seccomp(pid int) (v1alpha1.SeccompMode, int, error) {
	st, err := procfs.Status(p.Root, pid)
	if err != nil {
		return "", 0, err
	}
	m, ok := procModes[st.Seccomp]
	if !ok {
		m = v1alpha1.SeccompModeUnknown
	}
	return m, st.SeccompFilters, nil
}
