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

// families name socket(2) address families (every one Linux defines: a
// default may leave out any of them).
var families = func() map[uint64]string {
	m := map[uint64]string{}
	for name, v := range map[string]int{
		"AF_UNIX":       unix.AF_UNIX,
		"AF_INET":       unix.AF_INET,
		"AF_AX25":       unix.AF_AX25,
		"AF_IPX":        unix.AF_IPX,
		"AF_APPLETALK":  unix.AF_APPLETALK,
		"AF_NETROM":     unix.AF_NETROM,
		"AF_BRIDGE":     unix.AF_BRIDGE,
		"AF_ATMPVC":     unix.AF_ATMPVC,
		"AF_X25":        unix.AF_X25,
		"AF_INET6":      unix.AF_INET6,
		"AF_ROSE":       unix.AF_ROSE,
		"AF_DECnet":     unix.AF_DECnet,
		"AF_NETBEUI":    unix.AF_NETBEUI,
		"AF_SECURITY":   unix.AF_SECURITY,
		"AF_KEY":        unix.AF_KEY,
		"AF_NETLINK":    unix.AF_NETLINK,
		"AF_PACKET":     unix.AF_PACKET,
		"AF_ASH":        unix.AF_ASH,
		"AF_ECONET":     unix.AF_ECONET,
		"AF_ATMSVC":     unix.AF_ATMSVC,
		"AF_RDS":        unix.AF_RDS,
		"AF_SNA":        unix.AF_SNA,
		"AF_IRDA":       unix.AF_IRDA,
		"AF_PPPOX":      unix.AF_PPPOX,
		"AF_WANPIPE":    unix.AF_WANPIPE,
		"AF_LLC":        unix.AF_LLC,
		"AF_IB":         unix.AF_IB,
		"AF_MPLS":       unix.AF_MPLS,
		"AF_CAN":        unix.AF_CAN,
		"AF_TIPC":       unix.AF_TIPC,
		"AF_BLUETOOTH":  unix.AF_BLUETOOTH,
		"AF_IUCV":       unix.AF_IUCV,
		"AF_RXRPC":      unix.AF_RXRPC,
		"AF_ISDN":       unix.AF_ISDN,
		"AF_PHONET":     unix.AF_PHONET,
		"AF_IEEE802154": unix.AF_IEEE802154,
		"AF_CAIF":       unix.AF_CAIF,
		"AF_ALG":        unix.AF_ALG,
		"AF_NFC":        unix.AF_NFC,
		"AF_VSOCK":      unix.AF_VSOCK,
		"AF_KCM":        unix.AF_KCM,
		"AF_QIPCRTR":    unix.AF_QIPCRTR,
		"AF_SMC":        unix.AF_SMC,
		"AF_XDP":        unix.AF_XDP,
		"AF_MCTP":       unix.AF_MCTP,
	} {
		m[uint64(v)] = name
	}
	return m
}()

// personalities name personality(2) values the runtimes' defaults allow.
var personalities = map[uint64]string{
	0: "PER_LINUX", 0x8: "PER_LINUX32", 0x20000: "UNAME26", 0x20008: "PER_LINUX32|UNAME26", 0xffffffff: "query",
}

// namedValues returns the values argument i of syscall name has names for.
func namedValues(name string, abi *syscalls.Arch, i uint) []uint64 {
	table := argTable(name, abi, i)
	out := make([]uint64, 0, len(table))
	for v := range table {
		out = append(out, v)
	}
	return out
}

// argName says what value v of argument i of syscall name means, when the
// check knows ("" otherwise).
func argName(name string, abi *syscalls.Arch, i uint, v uint64) string {
	return argTable(name, abi, i)[v]
}

// argTable returns the names of argument i's values of syscall name (nil
// when the check has none).
func argTable(name string, abi *syscalls.Arch, i uint) map[uint64]string {
	switch name {
	case "clone":
		flags := uint(0)
		if abi.Name == "s390x" || abi.Name == "s390" {
			flags = 1 // clone(stack, flags, ...) there
		}
		if i == flags {
			return cloneFlags
		}
	case "unshare":
		if i == 0 {
			return cloneFlags
		}
	case "setns":
		if i == 1 {
			return cloneFlags
		}
	case "socket", "socketpair":
		if i == 0 {
			return families
		}
	case "personality":
		if i == 0 {
			return personalities
		}
	}
	return nil
}
