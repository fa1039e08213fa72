// Package pods is the fallback admission webhook for clusters whose
// apiserver does not evaluate MutatingAdmissionPolicies: it gives pod
// creations (and ephemeral containers) the decisions the compiled
// admission policies give, by running those policies in-process with the
// apiserver's own code (internal/policy.Evaluate).
package pods

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
)

// Paths the webhook server serves the two webhooks on.
const (
	PodsPath      = "/seccomp-operator/pods"
	WorkloadsPath = "/seccomp-operator/workloads"
)

// AuditAnnotation is the key (prefixed by the apiserver with the webhook's
// name) under which audit mode records a verdict.
const AuditAnnotation = "verdict"

// Handler decides pod admissions from the cluster state its Reader (the
// manager's cache) holds: policies, the namespace's bindings and labels,
// and the profile index.
type Handler struct {
	Reader client.Reader
	// APIReader reads what the cache does not hold yet (a namespace
	// created a moment ago); nil: the cache only.
	APIReader         client.Reader
	OperatorNamespace string
}

// Scope is what one webhook of the configuration judges (ConfigReconciler):
// the pods of one policy, or the ProfileBindings' binding. The zero Scope,
// served at the bare paths that configurations of earlier versions name,
// judges everything.
type Scope struct {
	Policy   string
	Bindings bool
	// Closed: the webhook fails closed (failurePolicy Fail), so the
	// handler, too, refuses a pod it cannot judge; otherwise it admits it
	// with a warning, as the apiserver would without the webhook.
	Closed bool
}

// Path is the path the webhook of scope s is served at below base
// (PodsPath or WorkloadsPath).
func (s Scope) Path(base string) string {
	switch {
	case s.Bindings:
		return base + "/bindings"
	case s.Policy != "" && s.Closed:
		return base + "/closed/" + s.Policy
	case s.Policy != "":
		return base + "/open/" + s.Policy
	}
	return base
}

// scopeOf parses the scope of a request path below base.
func scopeOf(base, path string) (Scope, bool) {
	rest, ok := strings.CutPrefix(path, base)
	switch {
	case !ok:
		return Scope{}, false
	case rest == "":
		return Scope{Closed: true}, true
	case rest == "/bindings":
		return Scope{Bindings: true}, true
	}
	if name, ok := strings.CutPrefix(rest, "/closed/"); ok && name != "" {
		return Scope{Policy: name, Closed: true}, true
	}
	if name, ok := strings.CutPrefix(rest, "/open/"); ok && name != "" {
		return Scope{Policy: name}, true
	}
	return Scope{}, false
}

// Serve registers the pods and workloads webhooks, every scope, on srv.
func (h *Handler) Serve(srv interface{ Register(string, http.Handler) }) {
	for _, base := range []string{PodsPath, WorkloadsPath} {
		srv.Register(base, h)
		srv.Register(base+"/", h)
	}
}

// ServeHTTP answers the AdmissionReviews of both webhooks, at every scope.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, WorkloadsPath) {
		serveReview(w, r, WorkloadsPath, h.workloads, advised)
		return
	}
	serveReview(w, r, PodsPath, h.pods, unjudged)
}

// errNoNamespace: the request's namespace does not exist, in the cache nor
// in the apiserver.
var errNoNamespace = errors.New("no such namespace")

// state reads what Evaluate needs for a request in namespace ns. The
// objects are the cache's own, not copies (Evaluate and the handler only
// read them; TestEvaluateLeavesItsInputAsIs): copying them for every
// request was a good part of what a review allocated.
func (h *Handler) state(ctx context.Context, ns string) (policy.State, map[string]string, error) {
	st := policy.State{OperatorNamespace: h.OperatorNamespace}
	var policies v1alpha1.SeccompPolicyList
	if err := h.Reader.List(ctx, &policies, client.UnsafeDisableDeepCopy); err != nil {
		return st, nil, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	st.Policies = policies.Items
	var bindings v1alpha1.ProfileBindingList
	if err := h.Reader.List(ctx, &bindings, client.InNamespace(ns), client.UnsafeDisableDeepCopy); err != nil {
		return st, nil, fmt.Errorf("list the ProfileBindings of %s: %w", ns, err)
	}
	st.Bindings = bindings.Items
	var idx v1alpha1.SeccompProfileIndex
	switch err := h.Reader.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &idx, client.UnsafeDisableDeepCopy); {
	case err == nil:
		st.Index = &idx
	case !apierrors.IsNotFound(err):
		return st, nil, fmt.Errorf("read the profile index: %w", err)
	}
	var n corev1.Namespace
	err := h.Reader.Get(ctx, client.ObjectKey{Name: ns}, &n, client.UnsafeDisableDeepCopy)
	if apierrors.IsNotFound(err) && h.APIReader != nil {
		// Not in the cache yet: a namespace created a moment ago.
		err = h.APIReader.Get(ctx, client.ObjectKey{Name: ns}, &n)
	}
	switch {
	case apierrors.IsNotFound(err):
		return st, nil, errNoNamespace
	case err != nil:
		return st, nil, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	return st, n.Labels, nil
}

// unjudged is the answer for a pod the handler could not judge: refused
// when the scope fails closed (a policy in enforce mode), as the webhook's
// absence would be; admitted with a warning otherwise. A namespace that
// does not exist is nothing to judge: the apiserver refuses its pods.
func unjudged(scope Scope, err error) admission.Response {
	if errors.Is(err, errNoNamespace) {
		return admission.Allowed("")
	}
	if scope.Closed {
		return admission.Errored(http.StatusInternalServerError, fmt.Errorf("seccomp-operator could not judge the pod, try again: %w", err))
	}
	resp := admission.Allowed("")
	resp.Warnings = []string{"seccomp-operator admitted the pod without judging it: " + err.Error()}
	return resp
}

// pods handles pod CREATE and pods/ephemeralcontainers UPDATE for scope: a
// policy's webhook judges the pods its policy governs (others pass: their
// own policy's webhook judges them) as the bindings' webhook, which runs
// before it, left them; the bindings' webhook only binds.
func (h *Handler) pods(ctx context.Context, scope Scope, req *admissionv1.AdmissionRequest, pod *corev1.Pod) admission.Response {
	ephemeral := req.Operation == admissionv1.Update && req.SubResource == "ephemeralcontainers"
	if req.Kind.Kind != "Pod" || !(req.Operation == admissionv1.Create && req.SubResource == "" || ephemeral) {
		return admission.Allowed("")
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	st, nsLabels, err := h.state(ctx, req.Namespace)
	if err != nil {
		return unjudged(scope, err)
	}
	switch {
	case scope.Bindings:
		st.Policies = nil
	case scope.Policy != "":
		// The bindings' webhook, which runs before, bound the pod.
		st.Bindings, st.Only = nil, scope.Policy
	}
	d, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: nsLabels, Username: req.UserInfo.Username, Ephemeral: ephemeral}, st)
	if err != nil {
		return unjudged(scope, err)
	}
	if d.Refused() {
		return admission.Denied(strings.Join(d.Messages(), "; "))
	}
	if !d.Changed {
		// No patch, as the difference below would find, without
		// marshalling the pod twice to find it.
		return verdicts(admission.Response{AdmissionResponse: admissionv1.AdmissionResponse{Allowed: true}}, d)
	}
	// The patch is the difference between the pod as decoded and as
	// Evaluate leaves it, both marshalled the same way: only what the
	// decision changed, not what marshalling adds (null timestamps,
	// empty status), so a pod with nothing to change gets no patch.
	before, err := json.Marshal(pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	after, err := json.Marshal(d.Pod)
	if err != nil {
		return admission.Errored(http.StatusInternalServerError, err)
	}
	return verdicts(admission.PatchResponseFromRaw(before, after), d)
}

// verdicts adds the failed validations whose action is Warn or Audit to
// an admitting response.
func verdicts(resp admission.Response, d policy.Decision) admission.Response {
	resp.Warnings = append(resp.Warnings, d.Warnings...)
	if len(d.Audits) > 0 {
		resp.AuditAnnotations = map[string]string{AuditAnnotation: strings.Join(d.Audits, "; ")}
	}
	return resp
}

// workloads judges the pod template of a Deployment, StatefulSet,
// DaemonSet, ReplicaSet, Job or CronJob as its pods will be judged, with
// the workload-template checks: warnings (audit annotations in audit
// mode), never a refusal, since enforce applies to the pods. A policy's
// webhook says what its policy says (of the template as the bindings will
// bind its pods), the bindings' webhook what the bindings say.
func (h *Handler) workloads(ctx context.Context, scope Scope, req *admissionv1.AdmissionRequest, raw *json.RawMessage) admission.Response {
	obj, err := workload(req, *raw)
	if obj == nil && err == nil {
		return admission.Allowed("") // not one of the six kinds
	}
	if err != nil {
		return advised(scope, err)
	}
	st, nsLabels, err := h.state(ctx, req.Namespace)
	if err != nil {
		return advised(scope, err)
	}
	switch {
	case scope.Bindings:
		st.Policies = nil
	case scope.Policy != "":
		st.Only = scope.Policy
	}
	resource := req.Resource.Resource
	if resource == "" {
		resource = strings.ToLower(req.Kind.Kind) + "s" // the six kinds workload decodes
	}
	d, err := policy.Evaluate(policy.Request{Workload: obj, Resource: resource, Namespace: req.Namespace,
		NamespaceLabels: nsLabels, Username: req.UserInfo.Username}, st)
	if err != nil {
		return advised(scope, err)
	}
	return verdicts(admission.Allowed(""), d)
}

// advised is the workloads' answer to a request they could not judge (an
// error or a panic): admitted, since they only advise and must never
// block a rollout.
func advised(Scope, error) admission.Response { return admission.Allowed("") }

// workload decodes the workload of a request (nil for other kinds), typed,
// with the request's namespace.
func workload(req *admissionv1.AdmissionRequest, raw []byte) (client.Object, error) {
	var obj client.Object
	switch req.Kind.Kind {
	case "Deployment":
		obj = &appsv1.Deployment{}
	case "StatefulSet":
		obj = &appsv1.StatefulSet{}
	case "DaemonSet":
		obj = &appsv1.DaemonSet{}
	case "ReplicaSet":
		obj = &appsv1.ReplicaSet{}
	case "Job":
		obj = &batchv1.Job{}
	case "CronJob":
		obj = &batchv1.CronJob{}
	default:
		return nil, nil
	}
	if err := json.Unmarshal(raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", req.Kind.Kind, err)
	}
	obj.SetNamespace(req.Namespace)
	return obj, nil
}
