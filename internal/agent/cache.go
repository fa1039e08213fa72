package agent

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	toolscache "k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// CacheOptions scopes an agent's informers to what its node needs: every
// SeccompProfile, but only the pods bound to the node and only the node's
// own state. Pods are trimmed to the fields that say which profiles they
// use, so a node with many pods costs the agent little memory.
func CacheOptions(nodeName string) cache.Options {
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.Pod{}: {
				Field:     fields.OneTermEqualSelector("spec.nodeName", nodeName),
				Transform: trimPod,
			},
			&v1alpha1.SeccompNodeStatus{}: {
				Field: fields.OneTermEqualSelector("metadata.name", nodeName),
			},
			&v1alpha1.SeccompProfile{}: {
				Transform: trimProfile,
			},
		},
	}
}

var (
	_ toolscache.TransformFunc = trimPod
	_ toolscache.TransformFunc = trimProfile
)

// trimProfile keeps what the agent renders from: name, version, labels
// and spec. The status (conditions, failed nodes) and annotations (kubectl's
// last-applied copy doubles an object) are never read on a node.
func trimProfile(obj any) (any, error) {
	sp, ok := obj.(*v1alpha1.SeccompProfile)
	if !ok {
		if _, tomb := obj.(toolscache.DeletedFinalStateUnknown); tomb {
			return obj, nil
		}
		return nil, fmt.Errorf("trim profile: unexpected %T", obj)
	}
	out := &v1alpha1.SeccompProfile{TypeMeta: sp.TypeMeta, Spec: sp.Spec}
	out.Name, out.UID, out.ResourceVersion, out.Generation, out.Labels = sp.Name, sp.UID, sp.ResourceVersion, sp.Generation, sp.Labels
	return out, nil
}

// trimPod keeps what podprofile reads: annotations, node name, phase and the
// security contexts (pod and every container).
func trimPod(obj any) (any, error) {
	pod, ok := obj.(*corev1.Pod)
	if !ok {
		if _, tomb := obj.(toolscache.DeletedFinalStateUnknown); tomb {
			return obj, nil
		}
		return nil, fmt.Errorf("trim pod: unexpected %T", obj)
	}
	out := &corev1.Pod{TypeMeta: pod.TypeMeta}
	out.Name, out.Namespace, out.UID, out.ResourceVersion = pod.Name, pod.Namespace, pod.UID, pod.ResourceVersion
	out.Annotations = pod.Annotations
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
	return out, nil
}
