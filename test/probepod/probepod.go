// Package probepod is the profile and pod the e2e suite and the cluster
// benchmarks run on make up: a profile that denies mkdir and a pod of the
// e2e probe image confined by it, from which denials come on demand.
package probepod

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// DenyMkdir allows everything but mkdir and mkdirat, which fail with EPERM:
// any static binary runs under it, and a denial is one probe command away.
func DenyMkdir(name string) *v1alpha1.SeccompProfile {
	return &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1alpha1.SeccompProfileSpec{
			DefaultAction: "SCMP_ACT_ALLOW",
			Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
			Syscalls: []v1alpha1.SyscallRule{{
				Names: []string{"mkdir", "mkdirat"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: ptr.To[uint](1),
			}},
		},
	}
}

// Pod runs the probe (it sleeps; `kubectl exec <pod> -- /probe ...` makes
// the syscalls) under the operator profile called profile.
func Pod(ns, name, profile string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "probe", Image: "seccomp-operator/e2e-probe:dev", ImagePullPolicy: corev1.PullIfNotPresent,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost,
						LocalhostProfile: ptr.To("operator/" + profile + ".json")},
				},
			}},
		},
	}
}
