package main

// The adapter of pkg/seccomp/recording/bpfrec to the recorder's Kernel.

import (
	"os"

	"github.com/seccomp-operator/seccomp-operator/internal/recorder"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording/bpfrec"
)

// openKernel opens the in-kernel recorder (recorder.OpenFunc).
func openKernel(o recorder.Options) (recorder.Kernel, error) {
	if o.ExcludeMountNS == 0 {
		// The host's processes are no workload's (pid 1: the agent
		// runs in the host's pid namespace). Reading another
		// process's namespace needs it to hold no capability the
		// agent lacks; if that fails, the agent's own is excluded.
		for _, pid := range []int{1, os.Getpid()} {
			if ns, err := bpfrec.MountNamespace(pid); err == nil {
				o.ExcludeMountNS = ns
				break
			}
		}
	}
	r, err := bpfrec.Open(bpfrec.Options{MaxNamespaces: o.MaxNamespaces, PinPath: o.PinPath, ExcludeMountNS: o.ExcludeMountNS,
		// An agent of another version (or --recorder-max-namespaces)
		// left maps this one cannot read: replace them rather than
		// record nothing; the node state keeps what was harvested.
		ReplaceIncompatible: true})
	if err != nil {
		return nil, err
	}
	return bpfKernel{r}, nil
}

// probeKernel tells, without loading the recorder, whether an earlier
// agent left pinned state and why the recorder could not be opened
// (recorder.ProbeFunc).
func probeKernel(o recorder.Options) (bool, error) {
	return bpfrec.Pinned(o.PinPath), bpfrec.Check()
}

// bpfKernel is a *bpfrec.Recorder as a recorder.Kernel (its entries in
// the recorder's type).
type bpfKernel struct{ *bpfrec.Recorder }

func (k bpfKernel) Entries() ([]recorder.Entry, error) {
	es, err := k.Recorder.Entries()
	if err != nil {
		return nil, err
	}
	out := make([]recorder.Entry, len(es))
	for i, e := range es {
		out[i] = recorder.Entry{MountNS: e.MountNS, ID: e.ID, Pid: e.Pid, Syscalls: e.Syscalls, Filtered: e.Filtered, Runtime: e.Runtime}
	}
	return out, nil
}

// PidInMountNS finds a live process of a namespace whose entry's Pid has
// exited (recorder.PidFinder). It reads /proc/<pid>/ns/mnt, which the
// kernel shows only for processes holding no capability the agent lacks.
func (bpfKernel) PidInMountNS(mntns uint64) (int, bool) { return bpfrec.PidInMountNS(mntns) }
