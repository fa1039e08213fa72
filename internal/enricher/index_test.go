package enricher

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

func TestIndexDeclaredProfiles(t *testing.T) {
	pod := testPod("web", "u1")
	pod.Spec.InitContainers = []corev1.Container{{Name: "init"}}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "dbg",
		SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("custom/x.json")}}}}}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", ContainerID: "containerd://" + "1111"}}
	pod.Status.EphemeralContainerStatuses = []corev1.ContainerStatus{{Name: "dbg", ContainerID: "cri-o://" + "2222"}}
	x := newPodIndex()
	x.set(pod)
	for id, want := range map[string]container{
		idApp:  {Name: "app", Declared: "Localhost/operator/deny-mkdir.json", Profile: "deny-mkdir"},
		idSide: {Name: "side", Declared: "RuntimeDefault", Privileged: true},
		"1111": {Name: "init", Declared: "RuntimeDefault"},
		"2222": {Name: "dbg", Declared: "Localhost/custom/x.json"},
	} {
		c := x.get(id)
		if c == nil || c.Name != want.Name || c.Declared != want.Declared || c.Profile != want.Profile || c.Privileged != want.Privileged || c.Pod != "web" || c.PodUID != "u1" {
			t.Errorf("%s: %+v, want %+v", id, c, want)
		}
	}
	if got := x.get(idApp).Label(); got != "deny-mkdir" {
		t.Errorf("label %q", got)
	}
	if got := x.get("2222").Label(); got != "Localhost/custom/x.json" {
		t.Errorf("label %q", got)
	}
	// A new version of the pod replaces the old: a container gone from
	// its status is forgotten.
	pod.Status.InitContainerStatuses = nil
	x.set(pod)
	if x.get("1111") != nil || x.get(idApp) == nil {
		t.Error("the pod's update was not applied")
	}
	x.remove("u1")
	if len(x.all()) != 0 {
		t.Errorf("left after delete: %d", len(x.all()))
	}
}

func TestIndexNodeDefault(t *testing.T) {
	pod := testPod("p", "u2")
	pod.Spec.Containers[0].SecurityContext = nil
	x := newPodIndex()
	x.set(pod)
	if c := x.get(idApp); c.Declared != podprofile.DeclaredNodeDefault || c.Label() != podprofile.DeclaredNodeDefault {
		t.Errorf("%+v", c)
	}
}
