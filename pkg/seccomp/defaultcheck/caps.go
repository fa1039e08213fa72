package defaultcheck

import (
	"slices"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// NormCaps spells capabilities as the profiles do (CAP_SYS_ADMIN, from
// SYS_ADMIN or cap_sys_admin), once each, in their first order.
func NormCaps(caps []string) []string {
	out := []string{}
	for _, c := range caps {
		if strings.TrimSpace(c) == "" {
			continue
		}
		if c = profile.NormCap(c); !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// BoundingCaps is a container's bounding set as the runtimes compute it
// from the container's request: base (the runtime's defaults), then drop
// (ALL drops every capability of base), then add (ALL: every capability
// there is, which no default refuses on capability grounds). Kubernetes'
// securityContext.capabilities and Docker's --cap-add/--cap-drop work this
// way: an added capability stays even when ALL is dropped.
func BoundingCaps(base, add, drop []string) []string {
	drop = NormCaps(drop)
	var out []string
	if !slices.Contains(drop, "CAP_ALL") {
		out = slices.DeleteFunc(NormCaps(base), func(c string) bool { return slices.Contains(drop, c) })
	}
	out = NormCaps(append(out, add...))
	if i := slices.Index(out, "CAP_ALL"); i >= 0 {
		return AllCaps()
	}
	return out
}

// AllCaps are every Linux capability, for a container given ALL.
func AllCaps() []string {
	return []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
		"CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE",
		"CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
		"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE", "CAP_SYS_PACCT",
		"CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
		"CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
		"CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
	}
}
