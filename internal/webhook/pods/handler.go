// Package pods is the fallback admission webhook for clusters whose
// apiserver does not evaluate MutatingAdmissionPolicies: it gives pod
// creations (and ephemeral containers) the decisions the compiled
// admission policies would give, computed by internal/policy.Evaluate, the
// one Go copy of the rules that the integration tests run against the
// apiserver's CEL on a shared table of cases.
package pods

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
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
	Reader            client.Reader
	OperatorNamespace string
}

// state reads what Evaluate needs for a request in namespace ns.
func (h *Handler) state(ctx context.Context, ns string) (policy.State, map[string]string, error) {
	st := policy.State{OperatorNamespace: h.OperatorNamespace}
	var policies v1alpha1.SeccompPolicyList
	if err := h.Reader.List(ctx, &policies); err != nil {
		return st, nil, fmt.Errorf("list SeccompPolicies: %w", err)
	}
	st.Policies = policies.Items
	var bindings v1alpha1.ProfileBindingList
	if err := h.Reader.List(ctx, &bindings, client.InNamespace(ns)); err != nil {
		return st, nil, fmt.Errorf("list the ProfileBindings of %s: %w", ns, err)
	}
	st.Bindings = bindings.Items
	var idx v1alpha1.SeccompProfileIndex
	switch err := h.Reader.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &idx); {
	case err == nil:
		st.Index = &idx
	case !apierrors.IsNotFound(err):
		return st, nil, fmt.Errorf("read the profile index: %w", err)
	}
	var n corev1.Namespace
	if err := h.Reader.Get(ctx, client.ObjectKey{Name: ns}, &n); err != nil {
		return st, nil, fmt.Errorf("read namespace %s: %w", ns, err)
	}
	return st, n.Labels, nil
}

// Pods handles pod CREATE and pods/ephemeralcontainers UPDATE.
func (h *Handler) Pods() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		ephemeral := req.Operation == admissionv1.Update && req.SubResource == "ephemeralcontainers"
		if req.Kind.Kind != "Pod" || !(req.Operation == admissionv1.Create && req.SubResource == "" || ephemeral) {
			return admission.Allowed("")
		}
		var pod corev1.Pod
		if err := json.Unmarshal(req.Object.Raw, &pod); err != nil {
			return admission.Errored(http.StatusBadRequest, fmt.Errorf("decode pod: %w", err))
		}
		if pod.Namespace == "" {
			pod.Namespace = req.Namespace
		}
		st, nsLabels, err := h.state(ctx, req.Namespace)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		d, err := policy.Evaluate(policy.Request{Pod: &pod, NamespaceLabels: nsLabels, Username: req.UserInfo.Username, Ephemeral: ephemeral}, st)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		if d.Refused() {
			return admission.Denied(strings.Join(d.Messages(), "; "))
		}
		// The patch is the difference between the pod as decoded and as
		// Evaluate leaves it, both marshalled the same way: only what the
		// decision changed, not what marshalling adds (null timestamps,
		// empty status), so a pod with nothing to change gets no patch.
		before, err := json.Marshal(&pod)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		after, err := json.Marshal(d.Pod)
		if err != nil {
			return admission.Errored(http.StatusInternalServerError, err)
		}
		resp := admission.PatchResponseFromRaw(before, after)
		return verdicts(resp, d.Mode, d.Messages())
	})
}

// verdicts adds what warn and audit modes say to an admitting response.
func verdicts(resp admission.Response, mode v1alpha1.PolicyMode, msgs []string) admission.Response {
	if len(msgs) == 0 {
		return resp
	}
	switch mode {
	case v1alpha1.PolicyModeAudit:
		resp.AuditAnnotations = map[string]string{AuditAnnotation: strings.Join(msgs, "; ")}
	default:
		resp.Warnings = append(resp.Warnings, msgs...)
	}
	return resp
}

// Workloads judges the pod template of a Deployment, StatefulSet,
// DaemonSet, ReplicaSet, Job or CronJob as its pods will be judged, and
// says so as warnings (audit annotations in audit mode): it never refuses,
// since enforce applies to the pods.
func (h *Handler) Workloads() admission.Handler {
	return admission.HandlerFunc(func(ctx context.Context, req admission.Request) admission.Response {
		tmpl, err := template(req)
		if err != nil || tmpl == nil {
			return admission.Allowed("") // advice only: never block a workload on our error
		}
		// The template was decoded for this request alone, and Evaluate
		// works on its own copy: no copy here.
		pod := &corev1.Pod{ObjectMeta: tmpl.ObjectMeta, Spec: tmpl.Spec}
		pod.Namespace = req.Namespace
		st, nsLabels, err := h.state(ctx, req.Namespace)
		if err != nil {
			return admission.Allowed("")
		}
		d, err := policy.Evaluate(policy.Request{Pod: pod, NamespaceLabels: nsLabels, Username: req.UserInfo.Username}, st)
		if err != nil {
			return admission.Allowed("")
		}
		msgs, bound := d.TemplateMessages(req.Kind.Kind)
		mode := d.Mode
		if mode == v1alpha1.PolicyModeEnforce {
			mode = v1alpha1.PolicyModeWarn
		}
		resp := verdicts(admission.Allowed(""), mode, msgs)
		if bound != "" {
			resp.Warnings = append(resp.Warnings, bound)
		}
		return resp
	})
}

// template returns the pod template of a workload request (nil for other
// kinds).
func template(req admission.Request) (*corev1.PodTemplateSpec, error) {
	var obj interface {
		metav1.Object
	}
	var get func() *corev1.PodTemplateSpec
	switch req.Kind.Kind {
	case "Deployment":
		o := &appsv1.Deployment{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.Template }
	case "StatefulSet":
		o := &appsv1.StatefulSet{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.Template }
	case "DaemonSet":
		o := &appsv1.DaemonSet{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.Template }
	case "ReplicaSet":
		o := &appsv1.ReplicaSet{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.Template }
	case "Job":
		o := &batchv1.Job{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.Template }
	case "CronJob":
		o := &batchv1.CronJob{}
		obj, get = o, func() *corev1.PodTemplateSpec { return &o.Spec.JobTemplate.Spec.Template }
	default:
		return nil, nil
	}
	if err := json.Unmarshal(req.Object.Raw, obj); err != nil {
		return nil, fmt.Errorf("decode %s: %w", req.Kind.Kind, err)
	}
	return get(), nil
}
