//go:build !linux || !(amd64 || arm64)

package bpfrec

import (
	"errors"
	"fmt"
	"runtime"
)

var errUnsupported = fmt.Errorf("bpfrec: the eBPF recorder runs on Linux amd64 and arm64, not %s/%s: %w", runtime.GOOS, runtime.GOARCH, errors.ErrUnsupported)

// Recorder is unavailable on this platform.
type Recorder struct{}

// Open returns an error wrapping errors.ErrUnsupported.
func Open(Options) (*Recorder, error) { return nil, errUnsupported }

func (*Recorder) Attach() error                     { return errUnsupported }
func (*Recorder) Detach() error                     { return errUnsupported }
func (*Recorder) Attached() bool                    { return false }
func (*Recorder) Close() error                      { return nil }
func (*Recorder) Unpin() error                      { return errUnsupported }
func (*Recorder) Entries() ([]Entry, error)         { return nil, errUnsupported }
func (*Recorder) Delete(uint64) error               { return errUnsupported }
func (*Recorder) Lost() (uint64, error)             { return 0, errUnsupported }
func (*Recorder) LostNamespaces() ([]uint64, error) { return nil, errUnsupported }
func (*Recorder) OutOfRange() (uint64, error)       { return 0, errUnsupported }
func (*Recorder) MapBytes() int                     { return 0 }
func (*Recorder) Replaced() bool                    { return false }

// Pinned reports false: nothing is pinned on this platform.
func Pinned(string) bool { return false }

// Check returns an error wrapping errors.ErrUnsupported.
func Check() error { return errUnsupported }
