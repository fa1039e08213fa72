package pods

import (
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// The handler's own work (decoding, the patch, the response), on a fake
// cluster state; the decisions themselves are policy.Evaluate's (the
// compiled policies, run in-process), on the case table in cases_test.go.
func TestPodsHandlerPatchesOnlyWhatItDecides(t *testing.T) {
	scheme := testScheme()
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"team": "a"}}},
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
		}},
	).Build()
	h := &Handler{Reader: reader, OperatorNamespace: "op"}
	review := func(pod string) admission.Response {
		return post(t, h, PodsPath, admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "ns", Operation: admissionv1.Create,
		}, json.RawMessage(pod))
	}

	resp := review(`{"metadata":{"name":"a","namespace":"ns"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`)
	if !resp.Allowed || len(resp.Patches) != 1 || resp.Patches[0].Path != "/spec/securityContext" {
		t.Fatalf("a plain pod: allowed %v, patches %+v (want the pod-level default only)", resp.Allowed, resp.Patches)
	}
	if got, _ := json.Marshal(resp.Patches[0].Value); string(got) != `{"seccompProfile":{"type":"RuntimeDefault"}}` {
		t.Errorf("default written: %s", got)
	}

	resp = review(`{"metadata":{"name":"b","namespace":"ns"},"spec":{"securityContext":{"seccompProfile":{"type":"RuntimeDefault"}},"containers":[{"name":"app","image":"nginx"}]}}`)
	if !resp.Allowed || len(resp.Patches) != 0 {
		t.Errorf("a pod with nothing to change: allowed %v, patches %+v", resp.Allowed, resp.Patches)
	}

	resp = review(`{"metadata":{"name":"c","namespace":"ns"},"spec":{"containers":[{"name":"app","image":"nginx","securityContext":{"seccompProfile":{"type":"Unconfined"}}}]}}`)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "SeccompPolicy p: seccomp profile not allowed for container app: Unconfined") {
		t.Errorf("Unconfined: allowed %v, %+v", resp.Allowed, resp.Result)
	}
}

// One bad object (a name stored under an older, looser CRD schema) is
// skipped: the webhook neither answers 500 (which, failing closed, refused
// every pod the policy governs) nor lets it change other pods' decisions.
func TestPodsHandlerSkipsBadObjects(t *testing.T) {
	scheme := testScheme()
	team := metav1.LabelSelector{MatchLabels: map[string]string{"team": "a"}}
	reader := fake.NewClientBuilder().WithScheme(scheme).WithObjects(
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns", Labels: map[string]string{"team": "a"}}},
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "bad"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: team, Priority: 10, AllowedProfiles: []v1alpha1.AllowedProfile{"team..a"}}},
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "good"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: team, DefaultProfile: &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}}},
		&v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "bad"}, Spec: v1alpha1.ProfileBindingSpec{
			ProfileName: "a..b", ContainerNames: []string{"app"}}},
	).Build()
	h := &Handler{Reader: reader, OperatorNamespace: "op"}
	resp := post(t, h, PodsPath, admissionv1.AdmissionRequest{
		UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "ns", Operation: admissionv1.Create,
	}, json.RawMessage(`{"metadata":{"name":"a","namespace":"ns"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`))
	if !resp.Allowed || len(resp.Patches) != 1 || resp.Patches[0].Path != "/spec/securityContext" {
		t.Fatalf("allowed %v, result %+v, patches %+v; want good's default alone", resp.Allowed, resp.Result, resp.Patches)
	}
}

// A policy's webhook judges only the pods its policy governs, and a
// namespace the cache does not hold yet is read from the apiserver, not
// refused: a pod is never refused for a reason its author cannot fix.
func TestScopedHandlerAndCacheMiss(t *testing.T) {
	scheme := testScheme()
	policies := []client.Object{
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "high"}, Spec: v1alpha1.SeccompPolicySpec{Priority: 5,
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"tier": "x"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Unconfined"}}},
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "low"}, Spec: v1alpha1.SeccompPolicySpec{
			DefaultProfile: &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}, AllowedProfiles: []v1alpha1.AllowedProfile{"RuntimeDefault"}}},
	}
	fresh := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "fresh", Labels: map[string]string{"tier": "y"}}}
	cache := fake.NewClientBuilder().WithScheme(scheme).WithObjects(append(policies,
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: map[string]string{"tier": "x"}}})...).Build()
	api := fake.NewClientBuilder().WithScheme(scheme).WithObjects(fresh).Build()
	h := &Handler{Reader: cache, APIReader: api, OperatorNamespace: "op"}
	review := func(s Scope, ns string) admission.Response {
		return post(t, h, s.Path(PodsPath), admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: ns, Operation: admissionv1.Create,
		}, json.RawMessage(`{"metadata":{"name":"a","namespace":"`+ns+`"},"spec":{"containers":[{"name":"app","image":"nginx"}]}}`))
	}
	// In x, high governs: low's webhook lets the pod pass untouched.
	if resp := review(Scope{Policy: "low", Closed: true}, "x"); !resp.Allowed || len(resp.Patches) != 0 {
		t.Errorf("low's webhook in high's namespace: allowed %v, patches %+v", resp.Allowed, resp.Patches)
	}
	if resp := review(Scope{Policy: "high"}, "x"); !resp.Allowed || len(resp.Patches) != 1 {
		t.Errorf("high's webhook in its namespace: allowed %v, patches %+v", resp.Allowed, resp.Patches)
	}
	// fresh is in the apiserver, not yet in the cache: judged, by low.
	if resp := review(Scope{Policy: "low", Closed: true}, "fresh"); !resp.Allowed || len(resp.Patches) != 1 {
		t.Errorf("a namespace missing from the cache: allowed %v, result %+v, patches %+v", resp.Allowed, resp.Result, resp.Patches)
	}
	// A namespace that exists nowhere is the apiserver's to refuse.
	if resp := review(Scope{Policy: "low", Closed: true}, "gone"); !resp.Allowed {
		t.Errorf("a namespace that does not exist: %+v", resp.Result)
	}
}

// testScheme knows the built-in types and the operator's, for the fake
// clusters of this package's tests.
func testScheme() *runtime.Scheme {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	return scheme
}
