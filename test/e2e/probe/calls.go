package main

import (
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A call makes one syscall (or a pair) and returns the kernel's answer per
// syscall name, in the order made. Each is chosen to work in a default
// container without a seccomp filter (no capability beyond the runtime's
// default set), so that a failure under another profile is that profile's.
type call func() []answerOf

type answerOf struct {
	name string
	err  error
}

// calls are the probe's calls by name; "personality=VALUE" takes a value.
var calls = map[string]call{
	// unshare(CLONE_NEWUSER) needs no capability, but the kernel refuses
	// it (EINVAL) to a multithreaded process: a Go program is one, so the
	// forked child, single-threaded, makes it before exec.
	"unshare-user": func() []answerOf {
		cmd := exec.Command("/proc/self/exe", "noop")
		cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: unix.CLONE_NEWUSER}
		return []answerOf{{"unshare", cmd.Run()}}
	},
	// The process keyring (created on demand), then a user key in it.
	"keys": func() []answerOf {
		_, kerr := unix.KeyctlGetKeyringID(unix.KEY_SPEC_PROCESS_KEYRING, true)
		_, aerr := unix.AddKey("user", "seccomp-e2e-probe", []byte("x"), unix.KEY_SPEC_PROCESS_KEYRING)
		return []answerOf{{"keyctl", kerr}, {"add_key", aerr}}
	},
	// A one-entry ring, closed again.
	"io-uring": func() []answerOf {
		var params [120]byte // struct io_uring_params, zeroed
		fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 1, uintptr(unsafe.Pointer(&params)), 0)
		if errno != 0 {
			return []answerOf{{"io_uring_setup", errno}}
		}
		_ = unix.Close(int(fd))
		return []answerOf{{"io_uring_setup", nil}}
	},
	// UFFD_USER_MODE_ONLY: allowed without CAP_SYS_PTRACE when
	// vm.unprivileged_userfaultfd is 0.
	"userfaultfd": func() []answerOf {
		const uffdUserModeOnly = 1
		fd, _, errno := unix.Syscall(unix.SYS_USERFAULTFD, unix.O_CLOEXEC|uffdUserModeOnly, 0, 0)
		if errno != 0 {
			return []answerOf{{"userfaultfd", errno}}
		}
		_ = unix.Close(int(fd))
		return []answerOf{{"userfaultfd", nil}}
	},
}

// personalityCall sets (or, with 0xffffffff, queries) the persona.
func personalityCall(v uint64) call {
	return func() []answerOf {
		_, _, errno := unix.Syscall(unix.SYS_PERSONALITY, uintptr(v), 0, 0)
		name := fmt.Sprintf("personality(%#x)", v)
		if errno != 0 {
			return []answerOf{{name, errno}}
		}
		return []answerOf{{name, nil}}
	}
}

func runCalls(names []string) {
	var cs []call
	for _, n := range names {
		if v, ok := strings.CutPrefix(n, "personality="); ok {
			x, err := strconv.ParseUint(v, 0, 32)
			if err != nil {
				fail("personality value: " + err.Error())
			}
			cs = append(cs, personalityCall(x))
			continue
		}
		c, ok := calls[n]
		if !ok {
			fail("unknown call " + n)
		}
		cs = append(cs, c)
	}
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail(err.Error())
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
			fmt.Println("probe: seccomp " + strings.TrimSpace(v))
		}
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	for i := 0; ; i++ {
		for _, c := range cs {
			for _, a := range c() {
				if i == 0 {
					fmt.Printf("call %s: %s\n", a.name, answer(a.err))
				}
			}
		}
		if i == 0 {
			fmt.Println("probe: calls made")
		}
		select {
		case <-sigs:
			return
		case <-tick.C:
		}
	}
}
