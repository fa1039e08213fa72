package bpf

import (
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// defaultData is the errno (for ERRNO) or ptrace message (for TRACE) used when
// a rule sets no errnoRet: EPERM, as runc and libseccomp do.
const defaultData = 1

// ActionRet returns the SECCOMP_RET_* value for action a with its data.
// data is the errnoRet of an ERRNO or TRACE rule (nil means EPERM / 1); any
// other action must have nil data, because the kernel would ignore it and a
// profile that sets it almost certainly means something else.
func ActionRet(a profile.Action, data *uint) (uint32, error) {
	var base uint32
	switch a {
	case profile.ActErrno, profile.ActTrace:
		d := uint(defaultData)
		if data != nil {
			d = *data
		}
		if d > uint(RetData) {
			return 0, fmt.Errorf("action %s: errnoRet %d does not fit in 16 bits", a, d)
		}
		if a == profile.ActErrno {
			return RetErrno | uint32(d), nil
		}
		return RetTrace | uint32(d), nil
	case profile.ActKill, profile.ActKillThread:
		base = RetKillThread
	case profile.ActKillProcess:
		base = RetKillProcess
	case profile.ActTrap:
		base = RetTrap
	case profile.ActAllow:
		base = RetAllow
	case profile.ActLog:
		base = RetLog
	case profile.ActNotify:
		base = RetUserNotif
	case "":
		return 0, fmt.Errorf("empty action")
	default:
		return 0, fmt.Errorf("unknown action %q", a)
	}
	if data != nil {
		return 0, fmt.Errorf("action %s: errnoRet %d is only valid with %s or %s", a, *data, profile.ActErrno, profile.ActTrace)
	}
	return base, nil
}

// DescribeRet splits a SECCOMP_RET_* value into the profile action and its
// 16-bit data. KILL_THREAD is reported as SCMP_ACT_KILL_THREAD; a value the
// kernel does not know is reported as the empty action (the kernel treats such
// values as KILL_PROCESS).
func DescribeRet(ret uint32) (profile.Action, uint16) {
	data := uint16(ret & RetData)
	switch ret & RetActionFull {
	case RetKillProcess:
		return profile.ActKillProcess, data
	case RetKillThread:
		return profile.ActKillThread, data
	case RetTrap:
		return profile.ActTrap, data
	case RetErrno:
		return profile.ActErrno, data
	case RetUserNotif:
		return profile.ActNotify, data
	case RetTrace:
		return profile.ActTrace, data
	case RetLog:
		return profile.ActLog, data
	case RetAllow:
		return profile.ActAllow, data
	}
	return "", data
}

// RetString renders a SECCOMP_RET_* value with profile vocabulary, e.g.
// "SCMP_ACT_ALLOW", "SCMP_ACT_ERRNO(1)", "SCMP_ACT_TRACE(7)".
func RetString(ret uint32) string {
	a, data := DescribeRet(ret)
	switch a {
	case "":
		return fmt.Sprintf("unknown(%#08x)", ret)
	case profile.ActErrno, profile.ActTrace:
		return fmt.Sprintf("%s(%d)", a, data)
	}
	if data != 0 {
		return fmt.Sprintf("%s(%d)", a, data)
	}
	return string(a)
}

// isPermissive reports whether ret lets the syscall run; Options.Notify leaves
// such verdicts alone and turns every other one into USER_NOTIF.
func isPermissive(ret uint32) bool {
	a := ret & RetActionFull
	return a == RetAllow || a == RetLog
}
