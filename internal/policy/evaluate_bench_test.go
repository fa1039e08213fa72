package policy

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// BenchmarkEvaluate: one decision of the fallback webhook (bench/webhook's
// policy, index and pods), the programs cached.
//
//	go test -run XXX -bench Evaluate -benchmem ./internal/policy/
func BenchmarkEvaluate(b *testing.B) {
	p := benchpolicy.Policy()
	p.UID, p.Generation = "u", 1
	idx := &v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName, ResourceVersion: "1"}, Installed: benchpolicy.Installed(1000)}
	st := State{Policies: []v1alpha1.SeccompPolicy{*p}, Index: idx, OperatorNamespace: "seccomp-operator"}
	ns := benchNamespace()
	for _, c := range []struct {
		name    string
		profile *corev1.SeccompProfile
	}{{"defaulted", nil}, {"operator-profile", localhost("profile-0500")}} {
		pod := benchPod(c.profile)
		// Typed, as the webhook decodes it from the AdmissionReview.
		pod.TypeMeta = metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			// The programs are compiled once, by a call before the timed
			// loop: a run of few iterations would otherwise mostly time
			// the compilation.
			if _, err := Evaluate(Request{Pod: pod, NamespaceLabels: ns.Labels, Username: "bench"}, st); err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				d, err := Evaluate(Request{Pod: pod, NamespaceLabels: ns.Labels, Username: "bench"}, st)
				if err != nil || d.Refused() || d.Pod.Spec.SecurityContext == nil || d.Pod.Spec.SecurityContext.SeccompProfile == nil {
					b.Fatalf("%+v, %v", d, err)
				}
			}
		})
	}
}
