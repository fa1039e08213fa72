package enricher

import (
	"context"
	"errors"
	"sync"

	"github.com/seccomp-operator/seccomp-operator/internal/auditsource"
)

// SourceAuditNetlink names the audit multicast source.
const SourceAuditNetlink = "audit-netlink"

// AuditNetlink is Source over internal/auditsource: the audit netlink
// multicast group. The kernel's lost counter is read with AUDIT_GET when
// the agent may (CAP_AUDIT_CONTROL, which the DaemonSet does not grant by
// default); its growth since the first read is what this node lost.
type AuditNetlink struct {
	mu  sync.Mutex
	src *auditsource.Source
	// Counters of sources closed after a failure, so that Stats only
	// grows across reopenings.
	closed auditsource.Stats
	// kernelBase is the kernel's lost counter at the first read.
	kernelBase  uint32
	kernelKnown bool
}

func (a *AuditNetlink) Name() string { return SourceAuditNetlink }

func (a *AuditNetlink) Open() error {
	src, err := auditsource.Open(auditsource.Options{})
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.src = src
	a.mu.Unlock()
	if st, err := auditsource.Status(); err == nil {
		a.mu.Lock()
		if !a.kernelKnown {
			a.kernelBase, a.kernelKnown = st.Lost, true
		}
		a.mu.Unlock()
	}
	return nil
}

func (a *AuditNetlink) Run(ctx context.Context, handle func([]byte)) error {
	a.mu.Lock()
	src := a.src
	a.mu.Unlock()
	if src == nil {
		return errors.New("audit source not open")
	}
	err := src.Run(ctx, handle)
	a.mu.Lock()
	st := src.Stats()
	a.closed.Records += st.Records
	a.closed.Overruns += st.Overruns
	a.closed.Malformed += st.Malformed
	a.src = nil
	a.mu.Unlock()
	_ = src.Close()
	return err
}

func (a *AuditNetlink) Stats() SourceStats {
	a.mu.Lock()
	out := SourceStats{Overruns: a.closed.Overruns, Malformed: a.closed.Malformed}
	if a.src != nil {
		st := a.src.Stats()
		out.Overruns += st.Overruns
		out.Malformed += st.Malformed
	}
	base, known := a.kernelBase, a.kernelKnown
	a.mu.Unlock()
	if known {
		if st, err := auditsource.Status(); err == nil {
			out.KernelLostKnown = true
			out.KernelLost = uint64(st.Lost - base) // the kernel's counter is a uint32 that may wrap
		}
	}
	return out
}
