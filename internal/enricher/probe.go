package enricher

import (
	"os"
	"slices"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Probes tells an ERRNO record that is a probe answered on purpose from a
// denial: the container's installed profile answers the syscall ENOSYS and
// C libraries fall back from it (recording.ENOSYSProbes: clone3, which
// learned profiles answer so). The kernel's audit record carries only the
// action, not the errno, so the answer is read from the profile file the
// agent installed (the log flag, and so the record, exists only for those).
type Probes struct {
	// KubeletRoot is the kubelet's root directory (profiles are under its
	// seccomp directory).
	KubeletRoot string

	mu    sync.Mutex
	files map[string]probeFile
}

// probeFile is one parsed profile file, valid while its size and
// modification time stay the same (the installer replaces files by rename).
type probeFile struct {
	size int64
	mod  time.Time
	p    *profile.Profile // nil: unreadable or invalid, never a probe
}

// maxProbeFiles bounds the cache (cleared when full).
const maxProbeFiles = 1024

// IsProbe reports whether record r of a container running operator profile
// name is such a probe.
func (p *Probes) IsProbe(name string, r Record) bool {
	if p == nil || name == "" || r.Action != "errno" || !slices.Contains(recording.ENOSYSProbes, r.Syscall) {
		return false
	}
	arch, ok := syscalls.Get(r.Arch)
	if !ok {
		return false
	}
	prof := p.load(name)
	if prof == nil {
		return false
	}
	act, data, err := profile.Evaluate(prof, arch, r.Nr, [6]uint64{})
	return err == nil && act == profile.ActErrno && data == uint(unix.ENOSYS)
}

func (p *Probes) load(name string) *profile.Profile {
	rel, err := nodepath.ProfilePath(name)
	if err != nil {
		return nil
	}
	path := nodepath.Abs(p.KubeletRoot, rel)
	st, err := os.Stat(path)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if f, ok := p.files[path]; ok && f.size == st.Size() && f.mod.Equal(st.ModTime()) {
		return f.p
	}
	f := probeFile{size: st.Size(), mod: st.ModTime()}
	if data, err := os.ReadFile(path); err == nil {
		if prof, err := profile.Parse(data); err == nil {
			f.p = prof
		}
	}
	if p.files == nil || len(p.files) >= maxProbeFiles {
		p.files = map[string]probeFile{}
	}
	p.files[path] = f
	return f.p
}
