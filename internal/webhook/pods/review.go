package pods

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	admissionmetrics "sigs.k8s.io/controller-runtime/pkg/webhook/admission/metrics"
)

// The webhooks read the AdmissionReview themselves rather than through
// controller-runtime's admission.Webhook, which hands the object on raw:
// its universal deserializer reads the whole body once to find the
// review's kind and again to decode it, and the handler then decodes the
// object a third time. Here the review is decoded in one pass, with the
// object typed (a pod for the pods webhook). The configurations ask for
// AdmissionReview v1 only (config.go), so v1 is what is read.

// maxReviewSize bounds the body read, as controller-runtime bounds it.
const maxReviewSize = 7 << 20

var reviewType = metav1.TypeMeta{APIVersion: admissionv1.SchemeGroupVersion.String(), Kind: "AdmissionReview"}

var log = logf.Log.WithName("fallback-webhook")

// review is an AdmissionReview v1 whose request's object decodes as T.
type review[T any] struct {
	metav1.TypeMeta `json:",inline"`
	Request         *reviewRequest[T] `json:"request"`
}

// reviewRequest is an AdmissionRequest whose object decodes as T; its
// Object and OldObject fields stay empty (these, at a shallower depth,
// take their JSON names). The handlers read no old object: the old pod of
// an ephemeral containers update matters only in that there is one.
type reviewRequest[T any] struct {
	admissionv1.AdmissionRequest
	Object    T       `json:"object"`
	OldObject skipped `json:"oldObject"`
}

// skipped is a JSON value not kept.
type skipped struct{}

func (*skipped) UnmarshalJSON([]byte) error { return nil }

// reviewHandler judges one decoded request at a scope.
type reviewHandler[T any] func(ctx context.Context, scope Scope, req *admissionv1.AdmissionRequest, obj *T) admission.Response

// serveReview answers the AdmissionReview of r at the scope its path names
// below base, with handle; a panic in handle answers as fail does.
func serveReview[T any](w http.ResponseWriter, r *http.Request, base string, handle reviewHandler[T], fail func(Scope, error) admission.Response) {
	var in review[T]
	var resp admission.Response
	var uid types.UID
	if err := readReview(r, &in); err != nil {
		log.Error(err, "bad AdmissionReview", "path", r.URL.Path)
		resp = admission.Errored(http.StatusBadRequest, err)
	} else if scope, ok := scopeOf(base, r.URL.Path); !ok {
		resp = admission.Allowed("") // a path no configuration of ours names
	} else {
		resp = judge(r.Context(), scope, &in.Request.AdmissionRequest, &in.Request.Object, handle, fail)
	}
	if in.Request != nil {
		uid = in.Request.UID
	}
	writeReview(w, resp, uid)
}

// readReview decodes the body of r into in: an AdmissionReview v1 with a
// request.
func readReview[T any](r *http.Request, in *review[T]) error {
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); strings.TrimSpace(ct) != "application/json" {
		return fmt.Errorf("content type %q, expected application/json", r.Header.Get("Content-Type"))
	}
	if r.Body == nil {
		return errors.New("request body is empty")
	}
	size := r.ContentLength
	if size < 0 || size > maxReviewSize {
		size = 0
	}
	buf := bytes.NewBuffer(make([]byte, 0, size+1))
	if _, err := buf.ReadFrom(io.LimitReader(r.Body, maxReviewSize+1)); err != nil {
		return fmt.Errorf("read the request body: %w", err)
	}
	if buf.Len() == 0 {
		return errors.New("request body is empty")
	}
	if buf.Len() > maxReviewSize {
		return fmt.Errorf("request entity is too large; limit is %d bytes", maxReviewSize)
	}
	if err := json.Unmarshal(buf.Bytes(), in); err != nil {
		return fmt.Errorf("decode the AdmissionReview: %w", err)
	}
	if in.TypeMeta != reviewType {
		return fmt.Errorf("got a %s %s, expected %s %s", in.APIVersion, in.Kind, reviewType.APIVersion, reviewType.Kind)
	}
	if in.Request == nil {
		return errors.New("the AdmissionReview has no request")
	}
	return nil
}

// judge is handle's answer to req, or fail's when handle panics: the
// panic is logged and counted (controller-runtime's webhook panic metric),
// and the request answered as the scope answers what it cannot judge.
func judge[T any](ctx context.Context, scope Scope, req *admissionv1.AdmissionRequest, obj *T, handle reviewHandler[T], fail func(Scope, error) admission.Response) (resp admission.Response) {
	defer func() {
		if p := recover(); p != nil {
			admissionmetrics.WebhookPanics.WithLabelValues().Inc()
			log.Error(fmt.Errorf("%v", p), "panic while judging a request", "requestID", req.UID, "namespace", req.Namespace, "name", req.Name,
				"stack", string(debug.Stack()))
			resp = fail(scope, fmt.Errorf("internal error: %v", p))
		}
	}()
	return handle(ctx, scope, req, obj)
}

// writeReview writes resp, the answer to the request uid, as an
// AdmissionReview v1.
func writeReview(w http.ResponseWriter, resp admission.Response, uid types.UID) {
	// Complete sets the UID and the status code and encodes the patch.
	if err := resp.Complete(admission.Request{AdmissionRequest: admissionv1.AdmissionRequest{UID: uid}}); err != nil {
		resp = admission.Errored(http.StatusInternalServerError, fmt.Errorf("encode the patch: %w", err))
		resp.UID = uid
	}
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(admissionv1.AdmissionReview{TypeMeta: reviewType, Response: &resp.AdmissionResponse}); err != nil {
		log.Error(err, "write the AdmissionReview response", "requestID", uid)
	}
}
