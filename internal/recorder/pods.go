package recorder

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

// podContainer is one container of a pod on the node.
type podContainer struct {
	namespace, container string
	pod                  *corev1.Pod // the informer's trimmed copy: read only
	// confined: the runtime loads a seccomp filter into the container
	// (it declares RuntimeDefault or a Localhost profile and is not
	// privileged). Its recording is then what its tasks did under a
	// filter: the runtime's own set-up before loading it (mount,
	// pivot_root, ...) is not the workload's and stays out of its profile.
	// Otherwise (Unconfined, privileged, or the node's default, which the
	// agent cannot know) everything recorded counts, and what only the
	// runtime's init made before exec is marked runtime-only
	// (NodeRecording.RuntimeOnly): the profile allows it, a report on a
	// filter the runtime would load after it leaves it out.
	confined bool
}

// confined reports whether the runtime loads a seccomp filter into the
// container (see podContainer.confined).
func confined(pod *corev1.Pod, container string) bool {
	d := podprofile.Declare(pod, container)
	if d.Privileged {
		return false
	}
	ref, ok := podprofile.ParseDeclared(d.Declared)
	return ok && (ref.Type == corev1.SeccompProfileTypeRuntimeDefault || ref.Type == corev1.SeccompProfileTypeLocalhost)
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
				out[bareID(s.ContainerID)] = &podContainer{namespace: pod.Namespace, container: s.Name, pod: pod, confined: confined(pod, s.Name)}
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
