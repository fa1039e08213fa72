// Command denyprobe calls each syscall named on its command line with
// arguments no kernel accepts (bad pointers, invalid commands, fd -1), so the
// call can never do anything, and prints "<name> <result>" per line, where
// result is OK or the errno name (EPERM, ENOSYS, EFAULT, ...).
//
// The proof tests run it under a predefined profile to show the must-deny
// syscalls fail with EPERM from the filter, and without one to show the
// kernel itself would have answered differently. It is a Go program on
// purpose: the Go runtime's own syscalls must all be allowed by every
// profile, which its runs under --complain also prove.
package main

import (
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// bad is an argument that is an invalid pointer, fd, command and size at
// once: it keeps every probed call from having an effect (ptrace request -1
// is not PTRACE_TRACEME, reboot magic -1 is rejected before any action).
const bad = ^uintptr(0)

func main() {
	arch, ok := syscalls.Get(runtime.GOARCH)
	if !ok {
		fmt.Fprintf(os.Stderr, "denyprobe: no syscall table for %s\n", runtime.GOARCH)
		os.Exit(2)
	}
	status := 0
	for _, name := range os.Args[1:] {
		nr, ok := arch.Lookup(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "denyprobe: %s: unknown syscall on %s\n", name, arch.Name)
			status = 2
			continue
		}
		_, _, errno := unix.Syscall6(uintptr(nr), bad, bad, bad, bad, bad, bad)
		res := "OK"
		if errno != 0 {
			res = unix.ErrnoName(errno)
			if res == "" {
				res = fmt.Sprintf("errno%d", int(errno))
			}
		}
		fmt.Printf("%s %s\n", name, res)
	}
	os.Exit(status)
}
