// Package runtimeflags is the one home of what the operator knows about
// container runtimes and a profile's seccomp `flags`: runc before 1.2.0
// refuses every flag ("seccomp flags are not yet supported by runc", in
// libcontainer/specconv up to v1.1.14; flags came with v1.2.0-rc.1), so a pod
// whose profile sets one stays in RunContainerError on such a node. The
// profile webhook warns with Warning; the agent learns its node's runtime
// with Detect and reports what it cannot run with NodeMessage. Design and
// sources: design/runtime-seccomp-flags.md.
package runtimeflags

import (
	"fmt"
	"strings"
)

// FirstRunc is the first runc release that accepts seccomp flags.
const FirstRunc = "1.2.0"

// Support says whether a node's container runtime accepts seccomp flags.
type Support string

const (
	// Unknown: the agent could not tell; it treats flags as refused, since
	// a pod that does not start is worse than a profile reported not
	// installed with the reason.
	Unknown     Support = "unknown"
	Supported   Support = "supported"
	Unsupported Support = "unsupported"
)

// Setting values of the agent's --runtime-seccomp-flags.
const (
	SettingAuto        = "auto"
	SettingSupported   = string(Supported)
	SettingUnsupported = string(Unsupported)
)

// Detection is what the agent knows of its node's runtime, and how it
// learned it (in words, for the node state's message and the log).
type Detection struct {
	Support Support
	How     string
}

// Fixed is the Detection an administrator's setting gives (a setting other
// than auto, after ParseSetting).
func Fixed(s Support) Detection {
	return Detection{Support: s, How: "set by --runtime-seccomp-flags=" + string(s)}
}

// ParseSetting checks a --runtime-seccomp-flags value: auto is reported as
// auto=true, the others as a fixed Support.
func ParseSetting(v string) (s Support, auto bool, err error) {
	switch v {
	case SettingAuto:
		return Unknown, true, nil
	case SettingSupported:
		return Supported, false, nil
	case SettingUnsupported:
		return Unsupported, false, nil
	}
	return "", false, fmt.Errorf("--runtime-seccomp-flags=%q: want %s, %s or %s", v, SettingAuto, SettingSupported, SettingUnsupported)
}

// Warning is the admission warning for a profile that sets flags. Not a
// denial: runc from 1.2.0 and crun accept them.
func Warning(flags []string) string {
	return fmt.Sprintf("spec.flags %v: container runtimes older than runc %s (e.g. Debian 12's runc 1.1.5) refuse every seccomp flag, "+
		"and a pod using this profile does not start there (RunContainerError); nodes whose runtime cannot take them report the profile "+
		"not installed (status.failedNodes, reason SeccompFlagsNotSupported). Leave flags out unless every node runs runc %s or later, or crun",
		flags, FirstRunc, FirstRunc)
}

// NodeMessage says why a profile with flags is not installed on a node
// whose runtime does not (or may not) accept them.
func NodeMessage(flags []string, d Detection) string {
	what := "the node's container runtime refuses seccomp flags"
	if d.Support != Unsupported {
		what = "the agent cannot tell whether the node's container runtime accepts seccomp flags"
	}
	return fmt.Sprintf("not installed: the profile sets flags %s and %s (%s); a pod using it would not start here. "+
		"Remove the flags, run runc %s or later (or crun) on this node, or, if it does, start the agent with --runtime-seccomp-flags=supported",
		strings.Join(flags, ", "), what, d.How, FirstRunc)
}

// Takes reports whether d lets a node install profiles with seccomp flags:
// only a runtime known to pass them (unknown is treated as refusing).
func (d Detection) Takes() bool { return d.Support == Supported }

// StatusValue is d's Support as the node state spells it (NodeRuntime's
// seccompFlags: Supported, Unsupported, Unknown; the zero value is Unknown).
func (d Detection) StatusValue() string {
	switch d.Support {
	case Supported:
		return "Supported"
	case Unsupported:
		return "Unsupported"
	}
	return "Unknown"
}

// DenialsMessage says, for the node state, whether the kernel audits the
// denials of the operator's profiles on a node with runtime d, and what to
// do when it does not. The operator adds SECCOMP_FILTER_FLAG_LOG to its
// profiles only where the runtime takes flags; elsewhere a profile's ERRNO
// and TRAP verdicts leave no audit record (LOG and KILL verdicts, e.g. mode
// Complain, still do).
func DenialsMessage(d Detection) string {
	switch d.Support {
	case Supported:
		return fmt.Sprintf("denials of operator profiles on this node are audited: the runtime takes seccomp flags (%s), "+
			"so profiles are installed with SECCOMP_FILTER_FLAG_LOG unless their spec.logDenials is false", d.How)
	case Unsupported:
		return fmt.Sprintf("denials of operator profiles on this node leave no audit record: the runtime refuses seccomp flags (%s), "+
			"so profiles are installed without SECCOMP_FILTER_FLAG_LOG (mode Complain is still audited); upgrade to runc >= %s (or crun) and restart the agent",
			d.How, FirstRunc)
	}
	how := d.How
	if how == "" {
		how = "not detected"
	}
	return fmt.Sprintf("denials of operator profiles on this node may leave no audit record: the agent cannot tell whether the runtime takes seccomp flags (%s), "+
		"so profiles are installed without SECCOMP_FILTER_FLAG_LOG (mode Complain is still audited); run runc >= %s (or crun) where --runtime-binaries points, "+
		"or start the agent with --runtime-seccomp-flags=supported", how, FirstRunc)
}
