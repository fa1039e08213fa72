// Package auditrecord parses the kernel's seccomp audit records (type 1326,
// SECCOMP) in every form they reach a user or the agent: the audit netlink
// payload, audit.log lines, kernel log / dmesg / journal lines. It is the one
// parser of these records; it has no cluster in it and names syscalls with
// pkg/seccomp/syscalls and actions with pkg/seccomp/bpf.
package auditrecord

import (
	"time"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Type is the audit message type of seccomp records (AUDIT_SECCOMP).
const Type = 1326

// Unset is the kernel's value for an id it does not have ((uid_t)-1, e.g.
// auid of a process no login session started). Absent ids parse as Unset,
// never as 0, which would read as root.
const Unset = 4294967295

// Record is one seccomp audit record.
type Record struct {
	// Time is the record's audit(sec.msec:serial) time; zero when the form
	// carries none (journald's "audit[pid]: SECCOMP ..." lines).
	Time time.Time
	// Serial is the audit serial, unique per boot with Time; 0 when absent.
	Serial uint64
	PID    int
	// UID, GID and AUID are Unset when the record has none.
	UID, GID, AUID uint32
	// Comm and Exe are decoded (the kernel writes names with spaces, quotes
	// or control characters in hex); "" when absent or "(null)".
	Comm, Exe string
	// Arch is the AUDIT_ARCH_* value of arch=.
	Arch uint32
	// Syscall is syscall= as the kernel reports it: x32 numbers carry
	// syscalls.X32SyscallBit.
	Syscall int
	Compat  bool
	Signal  int
	// Code is code=: the SECCOMP_RET_* value the filter returned, action and
	// data (the kernel reports ERRNO without its errno value).
	Code uint32
}

// Action is the record's action as the metric's action label and the
// kernel's actions_logged names it: "kill_process", "kill_thread", "trap",
// "errno", "user_notif", "trace", "log" or "allow". A value the kernel does
// not know is "kill_process", because that is what the kernel does with it.
func (r *Record) Action() string {
	a, _ := bpf.DescribeRet(r.Code)
	switch a {
	case profile.ActKillThread:
		return "kill_thread"
	case profile.ActTrap:
		return "trap"
	case profile.ActErrno:
		return "errno"
	case profile.ActNotify:
		return "user_notif"
	case profile.ActTrace:
		return "trace"
	case profile.ActLog:
		return "log"
	case profile.ActAllow:
		return "allow"
	}
	return "kill_process"
}

// ABI returns the syscall table of the record's ABI: arch= chooses it, and
// on x86_64 the x32 bit of the number tells x32 from x86_64. (The method is
// not called Arch because the field is.)
func (r *Record) ABI() (*syscalls.Arch, bool) {
	return syscalls.ByAudit(r.Arch, r.Syscall)
}

// SyscallName names the syscall with the record's own ABI table, so an
// i386 process's syscall 39 is mkdir, not x86_64's getpid.
func (r *Record) SyscallName() (string, bool) {
	a, ok := r.ABI()
	if !ok {
		return "", false
	}
	return a.NameOf(r.Syscall)
}
