package filter

// RunnerSyscalls are the syscalls Run's re-executed wrapper (runChild) may
// make on the command's thread after its filter is installed and before the
// command's execve has replaced it: they are filtered like the command's
// own, so a profile written for `seccompctl run` must allow them or the
// command never starts. `seccompctl record` adds them to every recorded
// profile. This is the one list: change it together with runChild.
var RunnerSyscalls = []string{
	// The command itself starts with execve.
	"execve",
	// Go raises the soft RLIMIT_NOFILE at start-up and syscall.Exec
	// restores the original before execve (when soft < hard).
	"prlimit64",
	// Notify mode (run --complain, record): the wrapper blocks reading
	// the sync pipe until the supervisor holds the listener, then closes it.
	"read", "close",
	// Go's runtime on the wrapper's locked thread: after the blocking read
	// the thread may park and be woken on a futex (exitsyscall), a signal
	// (preemption's SIGURG, a forwarded SIGINT) returns through
	// rt_sigreturn, and a contended runtime lock yields.
	"futex", "rt_sigreturn", "sched_yield",
	// A failed exec is reported on stderr and the wrapper exits 126/127.
	"write", "exit_group",
}
