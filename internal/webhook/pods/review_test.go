package pods

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	admissionmetrics "sigs.k8s.io/controller-runtime/pkg/webhook/admission/metrics"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// post sends req with obj (marshalled) as its object to h at path, as the
// apiserver sends it (an AdmissionReview v1, JSON over HTTP), and returns
// the answer with its patch decoded into Patches.
func post(t testing.TB, h http.Handler, path string, req admissionv1.AdmissionRequest, obj any) admission.Response {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	req.Object = runtime.RawExtension{Raw: raw}
	body, err := json.Marshal(admissionv1.AdmissionReview{TypeMeta: reviewType, Request: &req})
	if err != nil {
		t.Fatal(err)
	}
	rec := postBody(t, h, path, "application/json", body)
	resp := answer(t, rec)
	if resp.UID != req.UID {
		t.Fatalf("the answer's UID %q, the request's %q", resp.UID, req.UID)
	}
	return resp
}

// postBody posts body to h at path and returns what h wrote.
func postBody(t testing.TB, h http.Handler, path, contentType string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	r.Header.Set("Content-Type", contentType)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

// answer decodes the AdmissionReview h wrote.
func answer(t testing.TB, rec *httptest.ResponseRecorder) admission.Response {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("HTTP %d, content type %q: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	if out.TypeMeta != reviewType || out.Response == nil {
		t.Fatalf("not an AdmissionReview v1 with a response: %s", rec.Body)
	}
	resp := admission.Response{AdmissionResponse: *out.Response}
	if resp.Result == nil || resp.Result.Code == 0 {
		t.Fatalf("no status code: %s", rec.Body)
	}
	if len(resp.Patch) > 0 {
		if resp.PatchType == nil || *resp.PatchType != admissionv1.PatchTypeJSONPatch {
			t.Fatalf("a patch without its type: %s", rec.Body)
		}
		if err := json.Unmarshal(resp.Patch, &resp.Patches); err != nil {
			t.Fatalf("patch: %v: %s", err, resp.Patch)
		}
	}
	return resp
}

// What is not an AdmissionReview v1 with a request gets a 400 answer
// saying why (the apiserver shows it), not a decision.
func TestReviewRefusesWhatItCannotRead(t *testing.T) {
	h := &Handler{}
	pod := `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ns","object":`
	for _, c := range []struct {
		name, contentType, body, says string
	}{
		{"a body that is not JSON", "application/json", `{not json`, "decode the AdmissionReview"},
		{"a pod that is not a pod", "application/json", pod + `{"spec":{"containers":"app"}}}}`, "decode the AdmissionReview"},
		{"another content type", "application/yaml", pod + `{}}}`, `content type "application/yaml"`},
		{"an AdmissionReview v1beta1", "application/json", strings.Replace(pod, "admission.k8s.io/v1", "admission.k8s.io/v1beta1", 1) + `{}}}`, "admission.k8s.io/v1beta1 AdmissionReview, expected admission.k8s.io/v1"},
		{"no request", "application/json", `{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}`, "no request"},
		{"an empty body", "application/json", ``, "empty"},
		{"too large", "application/json", pod + `{"metadata":{"name":"` + strings.Repeat("a", maxReviewSize) + `"}}}}`, "too large"},
	} {
		resp := answer(t, postBody(t, h, PodsPath, c.contentType, []byte(c.body)))
		if resp.Allowed || resp.Result.Code != http.StatusBadRequest || !strings.Contains(resp.Result.Message, c.says) {
			t.Errorf("%s: allowed %v, %+v; want 400 saying %q", c.name, resp.Allowed, resp.Result, c.says)
		}
	}
	// A path below the webhooks that no configuration names admits.
	resp := answer(t, postBody(t, h, PodsPath+"/other", "application/json", []byte(pod+`{}}}`)))
	if !resp.Allowed || resp.UID != "u" {
		t.Errorf("an unknown scope: allowed %v, uid %q, %+v", resp.Allowed, resp.UID, resp.Result)
	}
}

// A panic while judging is answered as the scope answers what it cannot
// judge: a policy in enforce mode refuses the pod, one that fails open
// admits it with a warning, the workloads webhook admits.
func TestReviewAnswersAPanicAsItsScopeFails(t *testing.T) {
	h := &Handler{} // no Reader: reading the cluster's state panics
	req := admissionv1.AdmissionRequest{UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}, Namespace: "ns", Operation: admissionv1.Create}
	pod := map[string]any{"metadata": map[string]any{"name": "p"}}
	if resp := post(t, h, Scope{Policy: "p", Closed: true}.Path(PodsPath), req, pod); resp.Allowed || !strings.Contains(resp.Result.Message, "internal error") {
		t.Errorf("closed: allowed %v, %+v", resp.Allowed, resp.Result)
	}
	if resp := post(t, h, Scope{Policy: "p"}.Path(PodsPath), req, pod); !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "internal error") {
		t.Errorf("open: allowed %v, warnings %q", resp.Allowed, resp.Warnings)
	}
	req.Kind = metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	if resp := post(t, h, Scope{Policy: "p", Closed: true}.Path(WorkloadsPath), req, pod); !resp.Allowed {
		t.Errorf("workloads: allowed %v, %+v", resp.Allowed, resp.Result)
	}
}

// Whatever body reaches the webhook (its HTTPS port is open to the
// cluster's network), the answer is an AdmissionReview v1, and nothing
// panics on the way (a recovered panic would still answer, so the panic
// counter is checked).
func FuzzReview(f *testing.F) {
	p := benchpolicy.Policy()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "governed", Labels: p.Spec.NamespaceSelector.MatchLabels}}
	idx := &v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName}, Installed: benchpolicy.Installed(10)}
	h := &Handler{Reader: fake.NewClientBuilder().WithScheme(testScheme()).WithObjects(p, ns, idx).Build(), OperatorNamespace: "op"}
	seed := func(kind string, obj any) []byte {
		raw, _ := json.Marshal(obj)
		body, _ := json.Marshal(admissionv1.AdmissionReview{TypeMeta: reviewType, Request: &admissionv1.AdmissionRequest{
			UID: "u", Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind}, Namespace: "governed", Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: raw}}})
		return body
	}
	pod := benchpolicy.Pod("governed", "a", "")
	f.Add(false, seed("Pod", pod))
	f.Add(false, seed("Pod", benchpolicy.Pod("governed", "b", "profile-0003")))
	f.Add(true, seed("Deployment", &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "d"},
		Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}}}))
	f.Add(false, []byte(`{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u","kind":{"kind":"Pod"},"operation":"UPDATE","subResource":"ephemeralcontainers","object":{"spec":{"ephemeralContainers":[{"name":"x"}]}},"oldObject":{}}}`))
	f.Add(false, []byte(`{`))
	f.Fuzz(func(t *testing.T, workloads bool, body []byte) {
		path := Scope{Policy: p.Name, Closed: true}.Path(PodsPath)
		if workloads {
			path = Scope{Policy: p.Name}.Path(WorkloadsPath)
		}
		panics := testutil.ToFloat64(admissionmetrics.WebhookPanics.WithLabelValues())
		answer(t, postBody(t, h, path, "application/json", body))
		if testutil.ToFloat64(admissionmetrics.WebhookPanics.WithLabelValues()) != panics {
			t.Fatalf("a panic judging %q", body)
		}
	})
}
