// Command rec386 is TestRecordI386Child's 32-bit program (built with
// GOARCH=386): Go's 386 runtime makes i386-only syscalls (mmap2,
// set_thread_area), which a recorder must name with the i386 table.
package main

import "fmt"

func main() { fmt.Println("hello from i386") }
