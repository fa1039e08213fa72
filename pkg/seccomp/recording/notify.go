package recording

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// NotifyAll is the profile a user-notification recorder (seccompctl record)
// loads: every syscall of every ABI of native's family (x86_64, x86, x32 on
// x86_64) is SCMP_ACT_NOTIFY, so a 32-bit child is recorded too, with its
// own arch in each notification. Compile it with bpf.Options{Notify: true},
// which adds the listener flag.
func NotifyAll(native string) *profile.Profile {
	var arches []string
	for _, a := range syscalls.Family(native) {
		arches = append(arches, a.SCMP())
	}
	return &profile.Profile{DefaultAction: profile.ActNotify, Architectures: arches}
}
