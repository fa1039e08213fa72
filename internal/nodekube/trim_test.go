package nodekube

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// The pod trim keeps what the roles read: the security contexts
// (profiles, privileged) for podprofile and the installer, each container
// status's name and runtime ID for the enricher's and the recorder's
// attribution, the labels for the recorder's selection; nothing else of
// the statuses.
func TestTrimPodKeepsWhatTheRolesRead(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", UID: "u", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", Image: "img",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "c", ContainerID: "containerd://abc", Image: "img", ImageID: "sha", Ready: true, RestartCount: 3},
				{Name: "waiting"},
			},
			InitContainerStatuses:      []corev1.ContainerStatus{{Name: "i", ContainerID: "containerd://def"}},
			EphemeralContainerStatuses: []corev1.ContainerStatus{{Name: "e", ContainerID: "cri-o://123"}},
		},
	}
	got, err := TrimPod(pod)
	if err != nil {
		t.Fatal(err)
	}
	out := got.(*corev1.Pod)
	if out.Status.Phase != corev1.PodRunning || out.Spec.NodeName != "n1" || !*out.Spec.Containers[0].SecurityContext.Privileged {
		t.Errorf("lost what podprofile reads: %+v", out)
	}
	if len(out.Status.ContainerStatuses) != 1 || !equality.Semantic.DeepEqual(out.Status.ContainerStatuses[0], corev1.ContainerStatus{Name: "c", ContainerID: "containerd://abc"}) {
		t.Errorf("container statuses %+v, want only c's name and ID", out.Status.ContainerStatuses)
	}
	if len(out.Status.InitContainerStatuses) != 1 || out.Status.InitContainerStatuses[0].ContainerID != "containerd://def" ||
		len(out.Status.EphemeralContainerStatuses) != 1 || out.Status.EphemeralContainerStatuses[0].ContainerID != "cri-o://123" {
		t.Errorf("init/ephemeral statuses %+v %+v", out.Status.InitContainerStatuses, out.Status.EphemeralContainerStatuses)
	}
	if out.Labels["a"] != "b" {
		t.Errorf("lost the labels the recorder selects pods by: %+v", out.Labels)
	}
	if out.Spec.Containers[0].Image != "" {
		t.Errorf("kept what no role reads: %+v", out)
	}
}
