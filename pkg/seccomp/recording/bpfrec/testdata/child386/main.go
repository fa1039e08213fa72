// Command child386 is built by the recorder's tests with GOARCH=386: a
// 32-bit task whose syscalls must be recorded with the i386 table. Its
// runtime makes i386-only calls (mmap2, set_thread_area at i386 numbers);
// the uname below is number 122 on i386, which is x86_64's setfsuid.
package main

import "syscall"

func main() {
	var u syscall.Utsname
	_ = syscall.Uname(&u)
	_ = syscall.Getppid()
}
