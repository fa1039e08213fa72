// Package podprofile is the one place that reads which seccomp profile a pod
// and its containers ask for: the securityContext fields and the legacy
// annotations, resolved in the kubelet's order. The agent uses it to know
// which profile files running pods still need; admission and reports use the
// same resolution so they can never disagree with the agent.
package podprofile

import (
	"path"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Legacy annotations (removed from the kubelet in Kubernetes 1.27, but still
// found on old manifests and honoured by older nodes).
const (
	// PodAnnotation held the pod's profile.
	PodAnnotation = "seccomp.security.alpha.kubernetes.io/pod"
	// ContainerAnnotationPrefix + container name held a container's profile.
	ContainerAnnotationPrefix = "container.seccomp.security.alpha.kubernetes.io/"
	// annotation values
	annotationRuntimeDefault = "runtime/default"
	annotationDockerDefault  = "docker/default"
	annotationUnconfined     = "unconfined"
	annotationLocalhost      = "localhost/"
)

// Source says where an effective profile came from.
type Source string

const (
	SourceContainerField      Source = "container"
	SourceContainerAnnotation Source = "container-annotation"
	SourcePodField            Source = "pod"
	SourcePodAnnotation       Source = "pod-annotation"
	// SourceNodeDefault: nothing in the pod; the node's default applies
	// (RuntimeDefault when the kubelet runs with SeccompDefault, else
	// Unconfined).
	SourceNodeDefault Source = "node-default"
)

// Ref is a resolved profile: its type, and for Localhost the path relative
// to the kubelet's seccomp root, cleaned.
type Ref struct {
	Type             corev1.SeccompProfileType
	LocalhostProfile string
	Source           Source
}

// Effective resolves the profile of the named container (regular, init or
// ephemeral) in the kubelet's order: container field, container
// annotation, pod field, pod annotation, node default.
func Effective(pod *corev1.Pod, container string) Ref {
	if sc := containerContext(pod, container); sc != nil && sc.SeccompProfile != nil {
		return fromField(sc.SeccompProfile, SourceContainerField)
	}
	if v, ok := pod.Annotations[ContainerAnnotationPrefix+container]; ok {
		if r, ok := fromAnnotation(v, SourceContainerAnnotation); ok {
			return r
		}
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return fromField(sc.SeccompProfile, SourcePodField)
	}
	if v, ok := pod.Annotations[PodAnnotation]; ok {
		if r, ok := fromAnnotation(v, SourcePodAnnotation); ok {
			return r
		}
	}
	return Ref{Source: SourceNodeDefault}
}

// LocalhostPaths returns every localhost profile path the pod references, in
// any field or legacy annotation, cleaned, sorted and without duplicates.
// This is deliberately wider than the effective profiles: the pod-level
// profile also confines the pod sandbox even when every container overrides
// it, and a node may still honour an annotation, so a file any of them names
// must stay while the pod runs.
func LocalhostPaths(pod *corev1.Pod) []string {
	var out []string
	add := func(r Ref) {
		if r.Type == corev1.SeccompProfileTypeLocalhost && r.LocalhostProfile != "" {
			out = append(out, r.LocalhostProfile)
		}
	}
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		add(fromField(sc.SeccompProfile, SourcePodField))
	}
	forEachContainer(pod, func(_ string, sc *corev1.SecurityContext) {
		if sc != nil && sc.SeccompProfile != nil {
			add(fromField(sc.SeccompProfile, SourceContainerField))
		}
	})
	for k, v := range pod.Annotations {
		if k == PodAnnotation || strings.HasPrefix(k, ContainerAnnotationPrefix) {
			if r, ok := fromAnnotation(v, SourcePodAnnotation); ok {
				add(r)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Terminated reports whether the pod's containers have all stopped for good
// (phase Succeeded or Failed), so its profiles are no longer in use.
func Terminated(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

func fromField(p *corev1.SeccompProfile, src Source) Ref {
	r := Ref{Type: p.Type, Source: src}
	if p.Type == corev1.SeccompProfileTypeLocalhost && p.LocalhostProfile != nil {
		r.LocalhostProfile = clean(*p.LocalhostProfile)
	}
	return r
}

func fromAnnotation(v string, src Source) (Ref, bool) {
	p := AnnotationProfile(v)
	if p == nil {
		return Ref{}, false
	}
	return fromField(p, src), true
}

// AnnotationProfile is the seccompProfile field a legacy annotation value
// stands for, its localhost path as written; nil for a value that names
// no profile (the apiserver refuses such pods).
func AnnotationProfile(v string) *corev1.SeccompProfile {
	switch {
	case v == annotationRuntimeDefault || v == annotationDockerDefault:
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	case v == annotationUnconfined:
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	case strings.HasPrefix(v, annotationLocalhost):
		path := strings.TrimPrefix(v, annotationLocalhost)
		return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &path}
	}
	return nil
}

// clean normalises a localhost path the way the kubelet joins it to its
// seccomp root, so "./operator/a.json" and "operator/a.json" compare equal.
// A path that would escape the root is kept as written (it names no file
// the operator manages).
func clean(p string) string {
	c := path.Clean(p)
	if c == "." || c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c) {
		return p
	}
	return c
}

func containerContext(pod *corev1.Pod, name string) *corev1.SecurityContext {
	var found *corev1.SecurityContext
	forEachContainer(pod, func(n string, sc *corev1.SecurityContext) {
		if n == name && found == nil {
			found = sc
		}
	})
	return found
}

func forEachContainer(pod *corev1.Pod, f func(name string, sc *corev1.SecurityContext)) {
	for i := range pod.Spec.InitContainers {
		f(pod.Spec.InitContainers[i].Name, pod.Spec.InitContainers[i].SecurityContext)
	}
	for i := range pod.Spec.Containers {
		f(pod.Spec.Containers[i].Name, pod.Spec.Containers[i].SecurityContext)
	}
	for i := range pod.Spec.EphemeralContainers {
		f(pod.Spec.EphemeralContainers[i].Name, pod.Spec.EphemeralContainers[i].SecurityContext)
	}
}

// ContainerSecurityContext is the named container's own security context
// (init, regular or ephemeral), nil when it has none or there is no such
// container.
func ContainerSecurityContext(pod *corev1.Pod, name string) *corev1.SecurityContext {
	return containerContext(pod, name)
}
