//go:build !linux

package bpfrec

// MountNamespace is Linux-only.
func MountNamespace(int) (uint64, error) { return 0, errUnsupported }

// PidInMountNS is Linux-only.
func PidInMountNS(uint64) (int, bool) { return 0, false }
