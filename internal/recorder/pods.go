package recorder

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// podContainer is one container of a pod on the node.
type podContainer struct {
	namespace, container string
	pod                  *corev1.Pod // the informer's trimmed copy: read only
}

// podsByID maps the bare runtime IDs of the node's containers (as a
// process's cgroup names them) to their pods.
func podsByID(pods []*corev1.Pod) map[string]*podContainer {
	out := map[string]*podContainer{}
	for _, pod := range pods {
		for _, ss := range [][]corev1.ContainerStatus{pod.Status.InitContainerStatuses, pod.Status.ContainerStatuses, pod.Status.EphemeralContainerStatuses} {
			for _, s := range ss {
				if s.ContainerID == "" {
					continue
				}
				out[bareID(s.ContainerID)] = &podContainer{namespace: pod.Namespace, container: s.Name, pod: pod}
			}
		}
	}
	return out
}

// bareID is a runtime container ID without its "<runtime>://" prefix.
func bareID(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}
