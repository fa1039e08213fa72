// Package recorder is the node agent's third role: it records the syscalls
// of the pods ProfileRecordings select into the node's SeccompNodeStatus
// (status.recordings, one entry per recording, pod, container and source),
// where the manager merges them.
//
// Two sources feed it. The in-kernel recorder (Kernel: an eBPF program on
// raw_syscalls:sys_enter setting bits per mount namespace) is attached
// while a recording in mode Recording uses recorder ebpf, harvested every
// second, and each mount namespace's bits are attributed through a
// process's cgroup to its container and pod. The violations stream (the
// enricher's attributed seccomp records, Violation) gives the log
// recorder's syscalls and a learned profile's would-be denials (complain)
// and denials (enforce).
//
// What it recorded survives agent restarts: it starts from the node
// state's recordings. It shares the node's kube plumbing and /proc reader
// (internal/nodekube, internal/procfs) with the other roles and knows
// nothing of them: cmd/agent wires the enricher's violations into it.
package recorder
