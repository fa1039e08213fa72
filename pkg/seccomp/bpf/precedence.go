package bpf

// Strictest returns the verdict the kernel acts on when a thread has several
// filters stacked, given each filter's verdict in the order the kernel runs
// them: newest filter first (the reverse of the order they were installed).
// seccomp_run_filters keeps the verdict whose action, compared as a signed
// 32-bit value (KILL_PROCESS is negative), is the lowest; on a tie the
// newer filter's verdict, with its data, stands. With no filter the syscall
// runs (ALLOW).
func Strictest(rets []uint32) uint32 {
	ret := RetAllow
	for _, r := range rets {
		if int32(r&RetActionFull) < int32(ret&RetActionFull) {
			ret = r
		}
	}
	return ret
}
