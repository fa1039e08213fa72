package nodekube

// Violation is one seccomp record the enricher attributed to a container
// of a pod on the node: what the recorder reads of the violations stream
// (the log recorder's syscalls, a learned profile's would-be denials during
// its soak and its denials once enforced). The enricher builds it from what
// it already holds, so passing it costs no allocation.
type Violation struct {
	Namespace, Pod, PodUID, Container string
	// Profile is the SeccompProfile whose file the container runs with,
	// "" when it runs with none of the operator's.
	Profile string
	// ABI is the record's ABI as pkg/seccomp/syscalls names it ("x86_64",
	// "i386"), or "arch 0x<hex>" when no table has it.
	ABI string
	// Syscall is the syscall's name in the ABI's own table, or its number
	// in decimal when the table has no name for it; Nr is the number.
	Syscall string
	Nr      int
	// Action is the verdict (errno, kill_process, kill_thread, trap, log,
	// ...): log is a would-be denial (complain mode, or the log recorder's
	// profile), anything else a denial.
	Action string
}
