package nodekube

import (
	corev1 "k8s.io/api/core/v1"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

var (
	_ toolscache.TransformFunc = TrimPod
	_ toolscache.TransformFunc = TrimNodeState
)

// TrimNodeState drops the managed fields (rewritten by the apiserver on
// every write, never read here).
func TrimNodeState(obj any) (any, error) {
	if st, ok := obj.(*v1alpha1.SeccompNodeStatus); ok {
		st.ManagedFields = nil
	}
	return obj, nil
}

// TrimPod keeps what the node roles read, and nothing else (every node
// pays for its pods' copies): what podprofile resolves a container's
// profile from (annotations, node name, the security contexts of the pod
// and every container, which also say whether it is privileged), the phase,
// the labels (which ProfileRecordings select the pod, for the recorder),
// and, for the attribution of records and recorded syscalls, each container
// status's name and runtime ID (the ID is how a process's cgroup names its
// container).
func TrimPod(obj any) (any, error) {
	return TrimAs(obj, func(pod *corev1.Pod) any {
		out := &corev1.Pod{TypeMeta: pod.TypeMeta}
		out.Name, out.Namespace, out.UID, out.ResourceVersion = pod.Name, pod.Namespace, pod.UID, pod.ResourceVersion
		out.Annotations, out.Labels = pod.Annotations, pod.Labels
		out.Spec.NodeName = pod.Spec.NodeName
		out.Spec.SecurityContext = pod.Spec.SecurityContext
		out.Status.Phase = pod.Status.Phase
		trim := func(cs []corev1.Container) []corev1.Container {
			if len(cs) == 0 {
				return nil
			}
			t := make([]corev1.Container, len(cs))
			for i, c := range cs {
				t[i] = corev1.Container{Name: c.Name, SecurityContext: c.SecurityContext}
			}
			return t
		}
		out.Spec.InitContainers = trim(pod.Spec.InitContainers)
		out.Spec.Containers = trim(pod.Spec.Containers)
		for _, e := range pod.Spec.EphemeralContainers {
			var t corev1.EphemeralContainer
			t.Name, t.SecurityContext = e.Name, e.SecurityContext
			out.Spec.EphemeralContainers = append(out.Spec.EphemeralContainers, t)
		}
		out.Status.InitContainerStatuses = trimStatuses(pod.Status.InitContainerStatuses)
		out.Status.ContainerStatuses = trimStatuses(pod.Status.ContainerStatuses)
		out.Status.EphemeralContainerStatuses = trimStatuses(pod.Status.EphemeralContainerStatuses)
		return out
	})
}

// trimStatuses keeps each status's name and container ID; a container not
// yet created (no ID) is left out.
func trimStatuses(ss []corev1.ContainerStatus) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for _, s := range ss {
		if s.ContainerID == "" {
			continue
		}
		if out == nil {
			out = make([]corev1.ContainerStatus, 0, len(ss))
		}
		out = append(out, corev1.ContainerStatus{Name: s.Name, ContainerID: s.ContainerID})
	}
	return out
}
