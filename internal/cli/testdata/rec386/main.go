// Command rec386 is TestRecordI386Child's 32-bit program (built with
// GOARCH=386): Go's 386 runtime makes i386-only syscalls (mmap2,
// set_thread_area), which a recorder must name with the i386 table.
package main

import (
	"fmt"
	"time"
)

func main() {
	// Spin past the runtime's 10 ms preemption slice, so every run makes
	// the preemption signal's syscalls (getpid, tgkill, rt_sigreturn): a
	// run that happened to make them and one that did not would record
	// different profiles.
	for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
	}
	fmt.Println("hello from i386")
}
