// Command probe is the e2e suite's container process: a static binary that
// sleeps until it is told to stop and, run again through `kubectl exec`,
// makes one syscall and reports what the kernel answered, so a test can see
// a profile's denial from inside the container.
//
//	probe                 sleep until SIGTERM
//	probe mkdir PATH      mkdir(2); prints "ok" or the errno name (EPERM...)
//	probe mkdir-loop PATH [N]
//	                      mkdir(2) every 100 ms until SIGTERM (or N times,
//	                      then only wait for it), printing the first answer:
//	                      a container that hammers a syscall
//	probe mkdir-n PATH N  mkdir(2) N times as fast as it can (a burst of
//	                      denials); prints the last answer
//	probe seccomp         prints the Seccomp: line of /proc/self/status
//	probe calls CALL...   prints its Seccomp: line, then makes each CALL
//	                      every second until SIGTERM, printing each one's
//	                      first answer as "call NAME: ok" or "call NAME:
//	                      ERRNO" (calls.go): a workload whose syscalls a
//	                      test records and then runs under another profile
//	probe noop            exits 0 (the child of the unshare-user call)
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) < 2 {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		fmt.Println("probe: ready")
		<-sigs
		return
	}
	switch os.Args[1] {
	case "mkdir":
		if len(os.Args) != 3 {
			fail("usage: probe mkdir PATH")
		}
		report(unix.Mkdir(os.Args[2], 0o755))
	case "mkdir-loop":
		if len(os.Args) != 3 && len(os.Args) != 4 {
			fail("usage: probe mkdir-loop PATH [N]")
		}
		n := -1
		if len(os.Args) == 4 {
			var err error
			if n, err = strconv.Atoi(os.Args[3]); err != nil {
				fail(err.Error())
			}
		}
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		tick := time.NewTicker(100 * time.Millisecond)
		for i := 0; ; i++ {
			if n < 0 || i < n {
				err := unix.Mkdir(os.Args[2], 0o755)
				if err == nil {
					_ = unix.Rmdir(os.Args[2])
				}
				if i == 0 {
					fmt.Println(answer(err))
				}
			}
			select {
			case <-sigs:
				return
			case <-tick.C:
			}
		}
	case "mkdir-n":
		if len(os.Args) != 4 {
			fail("usage: probe mkdir-n PATH N")
		}
		n, err := strconv.Atoi(os.Args[3])
		if err != nil {
			fail(err.Error())
		}
		for range n - 1 {
			if unix.Mkdir(os.Args[2], 0o755) == nil {
				_ = unix.Rmdir(os.Args[2])
			}
		}
		report(unix.Mkdir(os.Args[2], 0o755))
	case "calls":
		if len(os.Args) < 3 {
			fail("usage: probe calls CALL...")
		}
		runCalls(os.Args[2:])
	case "noop":
	case "seccomp":
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			fail(err.Error())
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "Seccomp:") {
				fmt.Println(strings.Join(strings.Fields(l), " "))
				return
			}
		}
		fail("no Seccomp: line")
	default:
		fail("unknown command " + os.Args[1])
	}
}

// report prints "ok" or the errno's name, and exits 1 on error.
func report(err error) {
	fmt.Println(answer(err))
	if err != nil {
		os.Exit(1)
	}
}

// answer is "ok" or the errno's name.
func answer(err error) string {
	if err == nil {
		return "ok"
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "probe:", msg)
	os.Exit(2)
}
