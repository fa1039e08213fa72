// Command i386 is built with GOARCH=386 by the auditsource tests: a 32-bit
// process on an x86_64 kernel whose filter logs getpid, so the kernel writes
// records with arch=40000003 (AUDIT_ARCH_I386) and i386 syscall numbers.
package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
	"unsafe"
)

// i386 getpid is 20; x86_64's 20 is writev, which a test naming the
// syscall with the wrong table would report.
const sysGetpid = 20

func main() {
	n, _ := strconv.Atoi(os.Args[1])
	runtime.LockOSThread()
	const (
		ldAbsW = 0x20
		jeqK   = 0x15
		retK   = 0x06
	)
	filt := []struct {
		code   uint16
		jt, jf uint8
		k      uint32
	}{
		{ldAbsW, 0, 0, 0}, // seccomp_data.nr
		{jeqK, 0, 1, sysGetpid},
		{retK, 0, 0, 0x7ffc0000}, // SECCOMP_RET_LOG
		{retK, 0, 0, 0x7fff0000}, // SECCOMP_RET_ALLOW
	}
	prog := struct {
		len  uint16
		filt unsafe.Pointer
	}{uint16(len(filt)), unsafe.Pointer(&filt[0])}
	const prSetNoNewPrivs, prSetSeccomp, modeFilter = 38, 22, 2
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetNoNewPrivs, 1, 0); e != 0 {
		fmt.Println("no_new_privs:", e)
		os.Exit(1)
	}
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetSeccomp, modeFilter, uintptr(unsafe.Pointer(&prog))); e != 0 {
		fmt.Println("seccomp:", e)
		os.Exit(1)
	}
	for i := 0; i < n; i++ {
		syscall.RawSyscall(sysGetpid, 0, 0, 0)
	}
}
