package policy

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// FuzzEvaluate feeds arbitrary pods (the JSON a user submits, which the
// fallback webhook decodes) and image patterns through Evaluate: it must
// not panic, must not change its input, and its decision must hold
// together: a refusal says why, a governed pod that set no pod-level
// profile gets the default, and a bound container gets its binding's
// profile.
func FuzzEvaluate(f *testing.F) {
	for _, seed := range []struct{ pod, image string }{
		{`{"metadata":{"namespace":"ns"},"spec":{"containers":[{"name":"app","image":"nginx:1"}]}}`, "nginx*"},
		{`{"metadata":{"namespace":"ns","annotations":{"seccomp.security.alpha.kubernetes.io/pod":"localhost/operator/x.json","container.seccomp.security.alpha.kubernetes.io/app":"unconfined"}},"spec":{"containers":[{"name":"app"}],"initContainers":[{"name":"i","image":"a/b"}]}}`, "a/*"},
		{`{"metadata":{"namespace":"ns","labels":{"app":"web"}},"spec":{"securityContext":{"seccompProfile":{"type":"Localhost"}},"containers":[{"name":"app","image":"[.*+?]","securityContext":{"seccompProfile":{"type":"Localhost","localhostProfile":"operator/.json"}}}],"ephemeralContainers":[{"name":"e"}]}}`, "[.*+?]"},
		{`{"metadata":{"namespace":"kube-system"},"spec":{"containers":[{"name":"app"}]}}`, "*"},
	} {
		f.Add(seed.pod, seed.image, false)
		f.Add(seed.pod, seed.image, true)
	}
	policies := []v1alpha1.SeccompPolicy{pol("p", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"RuntimeDefault", "x*", "localhost/vendor/*"}
	})}
	index := &v1alpha1.SeccompProfileIndex{Installed: ",x,", NotInstalled: map[string]string{"y": "disabled"}}
	f.Fuzz(func(t *testing.T, podJSON, image string, ephemeral bool) {
		var pod corev1.Pod
		if json.Unmarshal([]byte(podJSON), &pod) != nil {
			return
		}
		pod.Namespace = "ns"
		bindings := []v1alpha1.ProfileBinding{{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "b"},
			Spec: v1alpha1.ProfileBindingSpec{ProfileName: "y", Images: []string{image}}}}
		before, _ := json.Marshal(&pod)
		d, err := Evaluate(Request{Describe: true, Pod: &pod, Ephemeral: ephemeral}, State{Policies: policies, Bindings: bindings, Index: index, OperatorNamespace: "op"})
		if err != nil {
			return // an image pattern that is no valid pattern: an error, not a panic
		}
		if after, _ := json.Marshal(&pod); string(after) != string(before) {
			t.Fatal("Evaluate changed its input")
		}
		if d.Pod == nil || d.Policy != "p" {
			t.Fatalf("decision %+v: every namespace is governed by p", d)
		}
		if d.Refused() && len(d.Messages()) == 0 {
			t.Fatal("refused without a message")
		}
		if !ephemeral {
			if sc := d.Pod.Spec.SecurityContext; sc == nil || sc.SeccompProfile == nil {
				t.Fatal("a governed pod left without a pod-level profile")
			}
			for _, c := range d.Pod.Spec.Containers {
				if by, ok := d.Bound[c.Name]; ok && (by != "b" || c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil ||
					c.SecurityContext.SeccompProfile.LocalhostProfile == nil || *c.SecurityContext.SeccompProfile.LocalhostProfile != "operator/y.json") {
					t.Fatalf("container %s bound by %q without the binding's profile: %+v", c.Name, by, c.SecurityContext)
				}
			}
			if len(d.Bound) > 0 && !strings.Contains(d.BindingMissing, "which is disabled") {
				t.Fatalf("a container bound to the disabled profile y, yet: %q", d.BindingMissing)
			}
		}
	})
}
