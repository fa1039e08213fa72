package filter

import (
	"errors"
	"fmt"
	"runtime"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Dump returns the seccomp programs the kernel holds for thread pid (a
// process's main thread when pid is a process ID) in the order they were
// installed, as PTRACE_SECCOMP_GET_FILTER numbers them (this kernel's
// get_nth_filter: index 0 is the oldest, whatever ptrace(2) says). A thread
// without filters gives none.
//
// It uses PTRACE_SECCOMP_GET_FILTER, which needs CAP_SYS_ADMIN, a kernel
// with CONFIG_CHECKPOINT_RESTORE, a caller that runs under no seccomp filter
// itself, and the target in a ptrace stop: Dump seizes it, interrupts it,
// reads each filter and detaches, all from one locked OS thread (the kernel
// binds a tracee to the tracing thread). The target pauses for the reads.
// The caller must not be waiting for pid at the same time (as a parent
// waiting for its child does): that wait would take the ptrace stop.
func Dump(pid int) ([][]bpf.RawInstruction, error) {
	type result struct {
		progs [][]bpf.RawInstruction
		err   error
	}
	ch := make(chan result, 1)
	go func() {
		// The goroutine's thread is left locked on return, so the
		// runtime retires it instead of reusing a thread that was a
		// tracer.
		runtime.LockOSThread()
		progs, err := dumpLocked(pid)
		ch <- result{progs, err}
	}()
	r := <-ch
	return r.progs, r.err
}

// stopTimeout bounds the wait for the interrupted thread to stop.
const stopTimeout = 5 * time.Second

func dumpLocked(pid int) (progs [][]bpf.RawInstruction, err error) {
	if err := unix.PtraceSeize(pid); err != nil {
		return nil, fmt.Errorf("ptrace seize %d: %w", pid, err)
	}
	sig := 0
	defer func() {
		// Detaching resumes the thread and re-delivers a signal that
		// arrived while it was stopped.
		_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, uintptr(sig), 0, 0)
		if errno != 0 && err == nil {
			err = fmt.Errorf("ptrace detach %d: %w", pid, errno)
		}
	}()
	if err := unix.PtraceInterrupt(pid); err != nil {
		return nil, fmt.Errorf("ptrace interrupt %d: %w", pid, err)
	}
	// Poll rather than block: if another waiter (the process's parent in
	// this same program) took the stop notification, fail instead of
	// hanging.
	deadline := time.Now().Add(stopTimeout)
	for {
		var ws unix.WaitStatus
		wpid, err := unix.Wait4(pid, &ws, unix.WALL|unix.WNOHANG, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wait for %d to stop: %w", pid, err)
		}
		if wpid == 0 {
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("process %d did not stop for ptrace within %s", pid, stopTimeout)
			}
			time.Sleep(time.Millisecond)
			continue
		}
		if ws.Exited() || ws.Signaled() {
			return nil, fmt.Errorf("process %d exited", pid)
		}
		if !ws.Stopped() {
			continue
		}
		if ws.StopSignal() != unix.SIGTRAP || ws.TrapCause() != unix.PTRACE_EVENT_STOP {
			// A signal reached it first: it is in a ptrace stop as well;
			// the signal is delivered again after the detach.
			sig = int(ws.StopSignal())
		}
		break
	}
	for i := 0; ; i++ {
		n, err := getFilter(pid, i, nil)
		if errors.Is(err, unix.ENOENT) {
			return progs, nil
		}
		if errors.Is(err, unix.EINVAL) && i == 0 {
			// Not in filter mode: no filters (or strict mode, which has
			// no program to show).
			return nil, nil
		}
		if err != nil {
			return nil, getFilterError(pid, i, err)
		}
		buf := make([]unix.SockFilter, n)
		if _, err := getFilter(pid, i, buf); err != nil {
			return nil, getFilterError(pid, i, err)
		}
		prog := make([]bpf.RawInstruction, n)
		for j, f := range buf {
			prog[j] = bpf.RawInstruction{Op: f.Code, Jt: f.Jt, Jf: f.Jf, K: f.K}
		}
		progs = append(progs, prog)
	}
}

// getFilter is PTRACE_SECCOMP_GET_FILTER: with no buffer it returns the
// filter's length in instructions.
func getFilter(pid, index int, buf []unix.SockFilter) (int, error) {
	var p unsafe.Pointer
	if len(buf) > 0 {
		p = unsafe.Pointer(&buf[0])
	}
	r, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SECCOMP_GET_FILTER, uintptr(pid), uintptr(index), uintptr(p), 0, 0)
	runtime.KeepAlive(buf)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func getFilterError(pid, index int, err error) error {
	why := ""
	switch {
	case errors.Is(err, unix.EACCES):
		why = " (it needs CAP_SYS_ADMIN, and the caller must not run under seccomp itself)"
	case errors.Is(err, unix.EMEDIUMTYPE):
		why = " (the kernel kept no copy of this filter's program)"
	case errors.Is(err, unix.EIO), errors.Is(err, unix.ENOSYS):
		why = " (the kernel lacks CONFIG_CHECKPOINT_RESTORE)"
	}
	return fmt.Errorf("read seccomp filter %d of %d: %w%s", index, pid, err, why)
}
