package render

import (
	"context"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// BenchmarkPrepare is the per-profile cost an agent pays for a typical
// custom profile (an allow list of 80 syscalls) on its node's family.
func BenchmarkPrepare(b *testing.B) {
	var names []string
	for i, s := range syscalls.MustGet("x86_64").Syscalls() {
		if i%4 == 0 {
			names = append(names, s.Name)
		}
		if len(names) == 80 {
			break
		}
	}
	sp := &v1alpha1.SeccompProfile{}
	sp.Name = "typical"
	sp.Spec.DefaultAction = "SCMP_ACT_ERRNO"
	sp.Spec.Syscalls = []v1alpha1.SyscallRule{{Names: names, Action: "SCMP_ACT_ALLOW"}}
	for _, fams := range [][]string{{"x86_64"}, {"x86_64", "aarch64"}} {
		b.Run(fams[len(fams)-1], func(b *testing.B) {
			for b.Loop() {
				p, err := Prepare(context.Background(), nil, sp, fams, true)
				if err != nil || p.Problem != "" {
					b.Fatal(err, p.Problem)
				}
			}
		})
	}
}
