package defaultcheck

import (
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// cloneFlags name the namespace bits of clone/unshare/setns flags.
var cloneFlags = map[uint64]string{
	unix.CLONE_NEWNS: "CLONE_NEWNS", unix.CLONE_NEWUTS: "CLONE_NEWUTS", unix.CLONE_NEWIPC: "CLONE_NEWIPC",
	unix.CLONE_NEWUSER: "CLONE_NEWUSER", unix.CLONE_NEWPID: "CLONE_NEWPID", unix.CLONE_NEWNET: "CLONE_NEWNET",
	unix.CLONE_NEWCGROUP: "CLONE_NEWCGROUP", unix.CLONE_NEWTIME: "CLONE_NEWTIME",
}

// families name socket(2) address families.
var families = map[uint64]string{
	unix.AF_UNIX: "AF_UNIX", unix.AF_INET: "AF_INET", unix.AF_INET6: "AF_INET6", unix.AF_NETLINK: "AF_NETLINK",
	unix.AF_PACKET: "AF_PACKET", unix.AF_KEY: "AF_KEY", unix.AF_BLUETOOTH: "AF_BLUETOOTH", unix.AF_CAN: "AF_CAN",
	unix.AF_ALG: "AF_ALG", unix.AF_VSOCK: "AF_VSOCK", unix.AF_XDP: "AF_XDP", unix.AF_TIPC: "AF_TIPC",
	unix.AF_RDS: "AF_RDS", unix.AF_NFC: "AF_NFC", unix.AF_KCM: "AF_KCM", unix.AF_QIPCRTR: "AF_QIPCRTR",
	unix.AF_SMC: "AF_SMC", unix.AF_MCTP: "AF_MCTP", unix.AF_IB: "AF_IB", unix.AF_MPLS: "AF_MPLS",
}

// personalities name personality(2) values the runtimes' defaults allow.
var personalities = map[uint64]string{
	0: "PER_LINUX", 0x8: "PER_LINUX32", 0x20000: "UNAME26", 0x20008: "PER_LINUX32|UNAME26", 0xffffffff: "query",
}

// argName says what value v of argument i of syscall name means, when the
// check knows ("" otherwise).
func argName(name string, abi *syscalls.Arch, i uint, v uint64) string {
	switch name {
	case "clone":
		flags := uint(0)
		if abi.Name == "s390x" || abi.Name == "s390" {
			flags = 1 // clone(stack, flags, ...) there
		}
		if i == flags {
			return cloneFlags[v]
		}
	case "unshare":
		if i == 0 {
			return cloneFlags[v]
		}
	case "setns":
		if i == 1 {
			return cloneFlags[v]
		}
	case "socket", "socketpair":
		if i == 0 {
			return families[v]
		}
	case "personality":
		if i == 0 {
			return personalities[v]
		}
	}
	return ""
}
