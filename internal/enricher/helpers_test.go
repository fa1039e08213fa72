package enricher

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
)

const (
	idApp      = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	idSide     = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
	archX86_64 = "c000003e"
	archI386   = "40000003"
	codeErrno  = "0x50000"
	codeLog    = "0x7ffc0000"
)

// payload is a netlink payload as the kernel sends it.
func payload(pid int, arch string, nr int, code string) []byte {
	return fmt.Appendf(nil, `audit(1796570658.057:14): auid=4294967295 uid=0 gid=0 ses=4294967295 subj=cri-containerd.apparmor.d (enforce) pid=%d comm="app" exe="/usr/bin/app" sig=0 arch=%s syscall=%d compat=0 ip=0x7f8384947be7 code=%s`, pid, arch, nr, code)
}

// fakeProcs maps pids to bare container IDs; "" is a host process, and a
// pid not in the map is gone.
type fakeProcs map[int]string

func (f fakeProcs) ContainerID(pid int) (string, bool) {
	id, ok := f[pid]
	return id, ok
}

// testPod is a pod on the node: container app under the operator profile
// deny-mkdir, container side with no profile, both with runtime IDs.
func testPod(name string, uid types.UID) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: uid},
		Spec: corev1.PodSpec{Containers: []corev1.Container{
			{Name: "app", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/deny-mkdir.json")}}},
			{Name: "side", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}},
		}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{
			{Name: "app", ContainerID: "containerd://" + idApp},
			{Name: "side", ContainerID: "containerd://" + idSide},
		}},
	}
}

// resetMetrics starts a test with no series.
func resetMetrics() {
	violations.Reset()
	records.Reset()
	unattributed.Reset()
	eventWrites.Reset()
}

// count reads one series of a counter vector.
func count(v *prometheus.CounterVec, labels ...string) float64 {
	return testutil.ToFloat64(v.WithLabelValues(labels...))
}
