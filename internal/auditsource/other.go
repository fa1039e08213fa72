//go:build !linux

package auditsource

import (
	"context"
	"errors"
)

var errNotLinux = errors.New("audit records are read on Linux only")

// ErrStatusUnavailable is wrapped by Status when the kernel's counters
// cannot be read.
var ErrStatusUnavailable = errors.New("the kernel's audit status is unavailable")

const DefaultReceiveBuffer = 8 << 20

type Options struct {
	ReceiveBuffer int
	NetNS         int
}

type Stats struct{ Records, Skipped, Malformed, Overruns uint64 }

type KernelStatus struct {
	Enabled, Failure, PID, RateLimit, BacklogLimit, Lost, Backlog uint32
}

type Source struct{}

func Open(Options) (*Source, error)                               { return nil, errNotLinux }
func (s *Source) ReceiveBuffer() (int, bool)                      { return 0, false }
func (s *Source) Stats() Stats                                    { return Stats{} }
func (s *Source) Close() error                                    { return nil }
func (s *Source) Run(context.Context, func(payload []byte)) error { return errNotLinux }
func Status() (KernelStatus, error) {
	return KernelStatus{}, errors.Join(ErrStatusUnavailable, errNotLinux)
}
