// Command probe is the e2e suite's container process: a static binary that
// sleeps until it is told to stop and, run again through `kubectl exec`,
// makes one syscall and reports what the kernel answered, so a test can see
// a profile's denial from inside the container.
//
//	probe                 sleep until SIGTERM
//	probe mkdir PATH      mkdir(2); prints "ok" or the errno name (EPERM...)
//	probe seccomp         prints the Seccomp: line of /proc/self/status
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

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
	if err == nil {
		fmt.Println("ok")
		return
	}
	var errno unix.Errno
	if errors.As(err, &errno) {
		fmt.Println(unix.ErrnoName(errno))
	} else {
		fmt.Println(err)
	}
	os.Exit(1)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "probe:", msg)
	os.Exit(2)
}
