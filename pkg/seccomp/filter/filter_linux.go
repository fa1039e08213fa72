// Package filter loads compiled seccomp programs into the kernel. Linux only.
package filter

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Install sets no_new_privs and loads insns as a seccomp filter on the calling
// OS thread (the caller must hold runtime.LockOSThread and is expected to
// exec or exit soon after). It returns the listener fd when flags include
// SECCOMP_FILTER_FLAG_NEW_LISTENER, else -1.
func Install(insns []bpf.RawInstruction, flags uint) (int, error) {
	if len(insns) == 0 || len(insns) > 4096 {
		return -1, fmt.Errorf("install filter: program has %d instructions (kernel takes 1..4096)", len(insns))
	}
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return -1, fmt.Errorf("install filter: set no_new_privs: %w", err)
	}
	filt := make([]unix.SockFilter, len(insns))
	for i, in := range insns {
		filt[i] = unix.SockFilter{Code: in.Op, Jt: in.Jt, Jf: in.Jf, K: in.K}
	}
	prog := unix.SockFprog{Len: uint16(len(filt)), Filter: &filt[0]}
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, uintptr(flags), uintptr(unsafe.Pointer(&prog)))
	runtime.KeepAlive(filt)
	if errno != 0 {
		return -1, fmt.Errorf("install filter: seccomp(SET_MODE_FILTER, flags %#x): %w", flags, errno)
	}
	if flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		return int(r), nil
	}
	return -1, nil
}
