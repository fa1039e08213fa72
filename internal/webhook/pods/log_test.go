package pods

import (
	"strings"
	"testing"

	"github.com/go-logr/logr"
	"github.com/go-logr/logr/funcr"
	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

func TestRequestLogAddsTheRequestOnlyWhenLogging(t *testing.T) {
	var lines []string
	base := funcr.New(func(prefix, args string) { lines = append(lines, args) }, funcr.Options{LogCaller: funcr.All, Verbosity: 1})
	req := &admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: "u-1", Namespace: "ns", Name: "p",
		UserInfo: authenticationv1.UserInfo{Username: "alice"}}}

	log := requestLog(base, req)
	log.V(5).Info("not enabled")
	if len(lines) != 0 {
		t.Fatalf("a disabled level logged: %q", lines)
	}
	log.WithName("pods").WithValues("k", "v").Info("judged")
	log.Error(nil, "failed")
	if len(lines) != 2 {
		t.Fatalf("logged %d lines, want 2: %q", len(lines), lines)
	}
	for _, l := range lines {
		for _, want := range []string{`"requestID"="u-1"`, `"namespace"="ns"`, `"user"="alice"`, `"file"="log_test.go"`} {
			if !strings.Contains(l, want) {
				t.Errorf("line %s lacks %s", l, want)
			}
		}
	}
	if !strings.Contains(lines[0], `"k"="v"`) {
		t.Errorf("values added after the constructor are lost: %s", lines[0])
	}
	if got := requestLog(base, nil); got != base {
		t.Error("a nil request changed the logger")
	}
	if got := requestLog(logr.Discard(), req); got.GetSink() != nil {
		t.Error("a discarding logger got a sink")
	}
}
