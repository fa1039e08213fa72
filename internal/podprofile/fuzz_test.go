package podprofile

import (
	"path"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

// FuzzLocalhostPaths feeds arbitrary annotation values and localhostProfile
// fields (both written by users) through the resolution: it must not panic,
// and every path it returns must be cleaned, or kept as written when
// cleaning would make it escape the seccomp root.
func FuzzLocalhostPaths(f *testing.F) {
	for _, seed := range [][2]string{
		{"localhost/operator/a.json", "operator/b.json"},
		{"localhost/../etc/passwd", "./operator/../operator/c.json"},
		{"runtime/default", "/abs.json"},
		{"localhost/", ""},
		{"unconfined", ".."},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, annotation, field string) {
		pod := &corev1.Pod{}
		pod.Annotations = map[string]string{PodAnnotation: annotation, ContainerAnnotationPrefix + "c": annotation}
		pod.Spec.Containers = []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
			Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(field)}}}}
		for _, p := range LocalhostPaths(pod) {
			c := path.Clean(p)
			escapes := c == "." || c == ".." || strings.HasPrefix(c, "../") || path.IsAbs(c)
			if !escapes && p != c {
				t.Fatalf("path %q returned uncleaned (clean: %q)", p, c)
			}
		}
		_ = Effective(pod, "c")
	})
}
