//go:build linux && (amd64 || arm64)

package bpfrec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"
	"golang.org/x/sys/unix"
)

// Indexes of the kernel's counters map (c/recorder.bpf.c).
const (
	cntLostNS        = 0
	cntOutOfRange    = 1
	cntLostUntracked = 2
)

const (
	btfPath  = "/sys/kernel/btf/vmlinux"
	linkName = "link"
)

// pinnedMaps are the maps kept across agent restarts: what was recorded,
// the loss accounting and the exclusion the running program reads.
var pinnedMaps = []string{recorderMapRecs, recorderMapDropped, recorderMapCounters, recorderMapConfig}

// Recorder is a loaded recorder program and its maps.
type Recorder struct {
	mu    sync.Mutex
	opts  Options
	objs  recorderObjects
	link  link.Link
	names [nrABIs]string
	// replaced: Open replaced incompatible pinned objects.
	replaced bool
}

// Open loads the program and its maps (reusing pinned ones under
// opts.PinPath) without attaching it, unless a pinned link shows it is
// still attached from a previous run.
func Open(opts Options) (*Recorder, error) {
	if opts.MaxNamespaces < 0 {
		return nil, fmt.Errorf("bpfrec: MaxNamespaces %d is negative", opts.MaxNamespaces)
	}
	if opts.MaxNamespaces == 0 {
		opts.MaxNamespaces = DefaultMaxNamespaces
	}
	names, err := abiNames(runtime.GOARCH)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(btfPath); err != nil {
		return nil, fmt.Errorf("bpfrec: the kernel exposes no BTF (%w): the recorder's CO-RE program needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", err)
	}
	if opts.PinPath != "" {
		if err := prepareBPFFS(opts.PinPath); err != nil {
			return nil, err
		}
	}
	// Kernels before 5.11 charge BPF memory to RLIMIT_MEMLOCK; later ones
	// to the cgroup, and this does nothing. A failure shows in the load's
	// error.
	_ = rlimit.RemoveMemlock()
	spec, err := loadRecorder()
	if err != nil {
		return nil, fmt.Errorf("bpfrec: %w", err)
	}
	spec.Maps[recorderMapRecs].MaxEntries = uint32(opts.MaxNamespaces)
	// A tenth of the namespaces for the list of refused ones: once it is
	// full too, refusals are still counted (Lost), only not listed.
	spec.Maps[recorderMapDropped].MaxEntries = uint32(max(64, opts.MaxNamespaces/10))
	copts := &ebpf.CollectionOptions{}
	if opts.PinPath != "" {
		for _, m := range pinnedMaps {
			spec.Maps[m].Pinning = ebpf.PinByName
		}
		copts.Maps.PinPath = opts.PinPath
	}
	r := &Recorder{opts: opts, names: names}
	err = spec.LoadAndAssign(&r.objs, copts)
	if errors.Is(err, ebpf.ErrMapIncompatible) && opts.PinPath != "" && opts.ReplaceIncompatible {
		// Unpinning the old link drops the last reference to the old
		// program (its agent is gone): it detaches.
		for _, name := range append([]string{linkName}, pinnedMaps...) {
			if rerr := os.Remove(filepath.Join(opts.PinPath, name)); rerr != nil && !errors.Is(rerr, os.ErrNotExist) {
				return nil, fmt.Errorf("bpfrec: replacing the incompatible pinned objects in %s: %w", opts.PinPath, rerr)
			}
		}
		r.replaced = true
		err = spec.LoadAndAssign(&r.objs, copts)
	}
	if err != nil {
		return nil, loadError(err, opts)
	}
	cfg := recorderConfig{ExcludeMntns: opts.ExcludeMountNS}
	if err := r.objs.Config.Put(uint32(0), &cfg); err != nil {
		r.objs.Close()
		return nil, fmt.Errorf("bpfrec: setting the excluded mount namespace: %w", err)
	}
	if opts.PinPath != "" {
		l, err := link.LoadPinnedLink(filepath.Join(opts.PinPath, linkName), nil)
		switch {
		case err == nil:
			r.link = l
		case !errors.Is(err, os.ErrNotExist):
			r.objs.Close()
			return nil, fmt.Errorf("bpfrec: reusing the pinned link in %s: %w", opts.PinPath, err)
		}
	}
	return r, nil
}

// Replaced reports whether Open replaced pinned objects of an incompatible
// layout (Options.ReplaceIncompatible), losing what they held.
func (r *Recorder) Replaced() bool { return r.replaced }

// loadError names what is missing when the kernel refuses the program or
// its maps.
func loadError(err error, opts Options) error {
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		return fmt.Errorf("bpfrec: the kernel refused to load the recorder: CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) are needed: %w", err)
	case errors.Is(err, ebpf.ErrMapIncompatible):
		return fmt.Errorf("bpfrec: a map pinned in %s does not match these options (MaxNamespaces %d?); use the same options or Unpin it first: %w", opts.PinPath, opts.MaxNamespaces, err)
	}
	var ve *ebpf.VerifierError
	if errors.As(err, &ve) {
		return fmt.Errorf("bpfrec: the verifier rejected the recorder: %+v", ve)
	}
	return fmt.Errorf("bpfrec: loading the recorder: %w", err)
}

// prepareBPFFS checks that dir is (or would be created) on a bpffs and
// creates it. Checking the nearest existing ancestor first keeps a wrong
// path from leaving a directory behind on another filesystem.
func prepareBPFFS(dir string) error {
	p := filepath.Clean(dir)
	for {
		if _, err := os.Stat(p); err == nil {
			break
		}
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		p = parent
	}
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return fmt.Errorf("bpfrec: PinPath %s: %w", dir, err)
	}
	if uint32(st.Type) != unix.BPF_FS_MAGIC {
		return fmt.Errorf("bpfrec: PinPath %s is not on a bpffs (%s is not; mount one with `mount -t bpf bpf /sys/fs/bpf`)", dir, p)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("bpfrec: PinPath: %w", err)
	}
	return nil
}

// Attach starts recording; it does nothing when already attached. With
// PinPath the link is pinned, so recording goes on across an agent restart
// until Detach.
func (r *Recorder) Attach() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.RecordSysEnter == nil {
		return errors.New("bpfrec: recorder is closed")
	}
	if r.link != nil {
		return nil
	}
	l, err := link.AttachTracing(link.TracingOptions{Program: r.objs.RecordSysEnter, AttachType: ebpf.AttachTraceRawTp})
	if err != nil {
		return fmt.Errorf("bpfrec: attaching to tp_btf/sys_enter: %w", err)
	}
	if r.opts.PinPath != "" {
		if err := l.Pin(filepath.Join(r.opts.PinPath, linkName)); err != nil {
			l.Close()
			return fmt.Errorf("bpfrec: pinning the link: %w", err)
		}
	}
	r.link = l
	return nil
}

// Detach stops recording (the syscall path pays nothing once detached);
// what was recorded stays in the map. It does nothing when detached.
func (r *Recorder) Detach() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.detachLocked()
}

func (r *Recorder) detachLocked() error {
	if r.link == nil {
		return nil
	}
	if err := r.link.Unpin(); err != nil && !errors.Is(err, os.ErrNotExist) && r.opts.PinPath != "" {
		return fmt.Errorf("bpfrec: unpinning the link: %w", err)
	}
	err := r.link.Close()
	r.link = nil
	if err != nil {
		return fmt.Errorf("bpfrec: detaching: %w", err)
	}
	return nil
}

// Attached reports whether the program runs on every syscall.
func (r *Recorder) Attached() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.link != nil
}

// Close releases the recorder. Without PinPath that detaches the program
// and frees the maps; with PinPath the pinned maps and link stay (and keep
// recording if attached) for the next Open; Unpin removes them.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.link != nil {
		// Closing the fd of a pinned link leaves it attached.
		errs = append(errs, r.link.Close())
		r.link = nil
	}
	errs = append(errs, r.objs.Close())
	r.objs = recorderObjects{}
	return errors.Join(errs...)
}

// Unpin removes the pinned maps and link from PinPath: the program is
// detached once the last file descriptor is closed, and the maps freed.
func (r *Recorder) Unpin() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.opts.PinPath == "" {
		return nil
	}
	var errs []error
	if r.link != nil {
		errs = append(errs, r.link.Unpin())
	} else if err := os.Remove(filepath.Join(r.opts.PinPath, linkName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, m := range []*ebpf.Map{r.objs.Recs, r.objs.Dropped, r.objs.Counters, r.objs.Config} {
		if m != nil {
			errs = append(errs, m.Unpin())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("bpfrec: unpinning: %w", err)
	}
	return nil
}

// Entries is a snapshot of every namespace recorded so far.
func (r *Recorder) Entries() ([]Entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.Recs == nil {
		return nil, errors.New("bpfrec: recorder is closed")
	}
	var (
		out []Entry
		key uint64
		val recorderRec
	)
	it := r.objs.Recs.Iterate()
	for it.Next(&key, &val) {
		bits := val.Bits[:]
		all, err := decode(r.names, bits[setUnfiltered*setWords:(setUnfiltered+1)*setWords])
		if err != nil {
			return nil, err
		}
		filtered, err := decode(r.names, bits[setFiltered*setWords:(setFiltered+1)*setWords])
		if err != nil {
			return nil, err
		}
		rt, err := decode(r.names, bits[setRuntime*setWords:(setRuntime+1)*setWords])
		if err != nil {
			return nil, err
		}
		runtimeOnly, err := decode(r.names, onlyIn(bits, setRuntime))
		if err != nil {
			return nil, err
		}
		all.Merge(filtered)
		all.Merge(rt)
		out = append(out, Entry{MountNS: val.Mntns, ID: key, Pid: int(val.Tgid), Syscalls: all, Filtered: filtered, Runtime: runtimeOnly})
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("bpfrec: reading the map: %w", err)
	}
	return out, nil
}

// Delete forgets every entry of the mount namespace inode mntns (once
// harvested, or when its container is gone), making room for others. A
// namespace refused for want of room is forgotten too.
//
// Syscalls the kernel records between the Entries that harvested a live
// namespace and its Delete are gone with it: delete a namespace once its
// container has exited, not while it runs.
func (r *Recorder) Delete(mntns uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.Recs == nil {
		return errors.New("bpfrec: recorder is closed")
	}
	var (
		ids []uint64
		key uint64
		val recorderRec
		ino uint64
	)
	it := r.objs.Recs.Iterate()
	for it.Next(&key, &val) {
		if val.Mntns == mntns {
			ids = append(ids, key)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("bpfrec: reading the map: %w", err)
	}
	for _, id := range ids {
		if err := r.objs.Recs.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("bpfrec: deleting mount namespace %d: %w", mntns, err)
		}
	}
	ids = ids[:0]
	dit := r.objs.Dropped.Iterate()
	for dit.Next(&key, &ino) {
		if ino == mntns {
			ids = append(ids, key)
		}
	}
	if err := dit.Err(); err != nil {
		return fmt.Errorf("bpfrec: reading the lost namespaces: %w", err)
	}
	for _, id := range ids {
		if err := r.objs.Dropped.Delete(id); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
			return fmt.Errorf("bpfrec: forgetting lost mount namespace %d: %w", mntns, err)
		}
	}
	return nil
}

// Lost is how many namespaces the map had no room for since it was
// created: their recordings are partial. When even the list of refused
// namespaces was full, each refused syscall is counted, so Lost is then
// an upper bound, never an undercount.
func (r *Recorder) Lost() (uint64, error) {
	a, err := r.counter(cntLostNS)
	if err != nil {
		return 0, err
	}
	b, err := r.counter(cntLostUntracked)
	return a + b, err
}

// LostNamespaces lists the inodes of the namespaces refused for want of
// room (up to the list's size), so user space can tell which recordings
// are partial.
func (r *Recorder) LostNamespaces() ([]uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.Dropped == nil {
		return nil, errors.New("bpfrec: recorder is closed")
	}
	var (
		out []uint64
		key uint64
		ino uint64
	)
	it := r.objs.Dropped.Iterate()
	for it.Next(&key, &ino) {
		out = append(out, ino)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("bpfrec: reading the lost namespaces: %w", err)
	}
	return out, nil
}

// OutOfRange counts syscalls whose number fits no bitmap (negative ones
// such as syscall(-1), or beyond 1023): they name nothing a profile can
// allow, but they are counted, not hidden.
func (r *Recorder) OutOfRange() (uint64, error) { return r.counter(cntOutOfRange) }

func (r *Recorder) counter(i uint32) (uint64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.objs.Counters == nil {
		return 0, errors.New("bpfrec: recorder is closed")
	}
	var v uint64
	if err := r.objs.Counters.Lookup(i, &v); err != nil {
		return 0, fmt.Errorf("bpfrec: reading counter %d: %w", i, err)
	}
	return v, nil
}

// MapBytes is the kernel memory of the maps: what the kernel charges for
// them when it says, else their preallocated size.
func (r *Recorder) MapBytes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	total := 0
	for _, m := range []*ebpf.Map{r.objs.Recs, r.objs.Dropped, r.objs.Counters, r.objs.Config, r.objs.Empty} {
		if m == nil {
			continue
		}
		if info, err := m.Info(); err == nil {
			if b, ok := info.Memlock(); ok {
				total += int(b)
				continue
			}
		}
		total += int(m.MaxEntries()) * int(m.KeySize()+m.ValueSize())
	}
	return total
}
