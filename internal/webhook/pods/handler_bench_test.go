package pods

import (
	"encoding/json"
	"fmt"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// BenchmarkPodsHandler: the reviews bench/webhook sends (half defaulted,
// half naming an installed operator profile; benchpolicy.Pod), as the
// webhook reads and answers them (the AdmissionReview's JSON in and out),
// with the state in a fake cache, without the HTTPS around them.
//
//	go test -run XXX -bench PodsHandler -benchmem ./internal/webhook/pods/
func BenchmarkPodsHandler(b *testing.B) {
	scheme := testScheme()
	p := benchpolicy.Policy()
	idx := &v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName}, Installed: benchpolicy.Installed(1000)}
	pod0 := benchpolicy.Pod("governed", "x", "")
	var ns corev1.Namespace
	ns.Name = pod0.Namespace
	ns.Labels = map[string]string{corev1.LabelMetadataName: pod0.Namespace}
	for k, v := range p.Spec.NamespaceSelector.MatchLabels {
		ns.Labels[k] = v
	}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(p, idx, &ns).Build()
	h := &Handler{Reader: reader, OperatorNamespace: "seccomp-operator"}
	var bodies [][]byte
	for i := range 64 {
		prof := ""
		if i%2 == 1 {
			prof = fmt.Sprintf("profile-%04d", i)
		}
		raw, _ := json.Marshal(benchpolicy.Pod("governed", fmt.Sprintf("r-%d", i), prof))
		body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: reviewType, Request: &admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Resource: metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: pod0.Namespace, Operation: admissionv1.Create, UserInfo: authenticationv1.UserInfo{Username: "bench"},
			Object: runtime.RawExtension{Raw: raw}}})
		bodies = append(bodies, body)
	}
	b.ReportAllocs()
	// The programs are compiled once, before the timed loop (see
	// BenchmarkEvaluate).
	if resp := answer(b, postBody(b, h, PodsPath, "application/json", bodies[0])); !resp.Allowed {
		b.Fatal(resp.Result)
	}
	i := 0
	for b.Loop() {
		if rec := postBody(b, h, PodsPath, "application/json", bodies[i%len(bodies)]); rec.Code != 200 {
			b.Fatal(rec.Body)
		}
		i++
	}
}
