package defaultcheck

import (
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// benchWorkload is a recorded-style profile (deny by default, one allow
// rule, the x86_64 family) with the names of the predefined webapp profile:
// the size of a real server's recording.
func benchWorkload(b *testing.B) *profile.Profile {
	p, ok := predefined.Get("webapp")
	if !ok {
		b.Fatal("no webapp profile")
	}
	var names []string
	for _, s := range p.Profile.Syscalls {
		if s.Action == profile.ActAllow {
			names = append(names, s.Names...)
		}
	}
	return recorded(names...)
}

// BenchmarkCheckRecorded is `seccompctl check` on a recorded profile, past
// reading the file: load, parse and resolve the default, resolve the
// workload, evaluate every allowed syscall on every ABI.
func BenchmarkCheckRecorded(b *testing.B) {
	w := benchWorkload(b)
	for _, ref := range []string{"containerd@v1.6.20", "containerd@v2.4.2", "docker@v0.3.0", "crio@v0.50.1"} {
		b.Run(ref, func(b *testing.B) {
			for b.Loop() {
				if _, err := Check(ref, w, amd64); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
