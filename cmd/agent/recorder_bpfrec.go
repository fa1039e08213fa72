//go:build ignore

// The adapter of pkg/seccomp/recording/bpfrec to the recorder's Kernel.
// Left out of the build (the tag ignore, which go mod tidy skips too) until
// bpfrec is merged; then the build line above goes, nothing else changes.

package main

import (
	"os"

	"github.com/seccomp-operator/seccomp-operator/internal/recorder"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording/bpfrec"
)

func init() {
	openKernel = func(o recorder.Options) (recorder.Kernel, error) {
		if o.ExcludeMountNS == 0 {
			// The agent's own syscalls are no workload's.
			if ns, err := bpfrec.MountNamespace(os.Getpid()); err == nil {
				o.ExcludeMountNS = ns
			}
		}
		if o.PinPath != "" {
			if err := os.MkdirAll(o.PinPath, 0o700); err != nil {
				return nil, err
			}
		}
		r, err := bpfrec.Open(bpfrec.Options{MaxNamespaces: o.MaxNamespaces, PinPath: o.PinPath, ExcludeMountNS: o.ExcludeMountNS})
		if err != nil {
			return nil, err
		}
		return bpfKernel{r}, nil
	}
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
		out[i] = recorder.Entry{MountNS: e.MountNS, Pid: e.Pid, Syscalls: e.Syscalls}
	}
	return out, nil
}
