package policy

import (
	"context"
	"fmt"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/celeval"
)

// Request is an admission Evaluate decides: a pod CREATE, an UPDATE of the
// pods/ephemeralcontainers subresource (Ephemeral: Pod is the pod with its
// new ephemeral containers), or the CREATE or UPDATE of a workload.
type Request struct {
	Pod *corev1.Pod
	// Workload, when set, is the admitted workload (a typed Deployment,
	// StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) and Resource its
	// resource ("deployments", ...): the workload-template checks judge
	// its pod template. Pod is then unused.
	Workload runtime.Object
	Resource string
	// Namespace is the request's namespace ("": the Pod's).
	Namespace       string
	NamespaceLabels map[string]string
	Username        string
	Ephemeral       bool
	// Describe asks also which policy governs a pod no policy changes or
	// refuses, and which binding bound each container (Decision.Policy,
	// Bound): two more validations per request, for reports. Admission
	// needs neither.
	Describe bool
}

// State is the cluster's state the decisions depend on. Evaluate only
// reads it (the fallback webhook passes the objects of its cache, not
// copies), as it only reads the Request's pod or workload.
type State struct {
	Policies []v1alpha1.SeccompPolicy
	// Bindings are the ProfileBindings; the pod's namespace's are the ones
	// that bind it.
	Bindings []v1alpha1.ProfileBinding
	// Index is the SeccompProfileIndex; nil: none published, so the
	// installed checks that read it as params admit, like their bindings'
	// parameterNotFoundAction.
	Index             *v1alpha1.SeccompProfileIndex
	OperatorNamespace string
	// Only, when set, runs the admission objects of that policy alone (the
	// others still decide which policy governs): a policy's own fallback
	// webhook.
	Only string
}

// Decision is what the admission policies compiled from the cluster's
// SeccompPolicies and ProfileBindings did with a request, evaluated with
// the apiserver's own code (package celeval).
type Decision struct {
	Policy string // "" when no policy governs the pod
	// Pod is the pod as the mutating policies leave it: legacy annotations
	// translated into fields, bound containers given their profile, the
	// default where nothing is set.
	Pod *corev1.Pod
	// Changed is whether the mutating policies changed the pod (false: Pod
	// equals the request's pod).
	Changed bool
	// Default is the pod-level default written (nil: none).
	Default *corev1.SeccompProfile
	// Translated is whether a legacy annotation was written into a field.
	Translated bool
	// Bound maps each container a ProfileBinding bound to the binding.
	Bound map[string]string
	Mode  v1alpha1.PolicyMode
	// Violations is the message of the governing policy's validating
	// policy (the allowed list, and the installed check with it), Missing
	// that of its separate installed check, BindingMissing that of the
	// bindings' installed check: each as the apiserver words it.
	Violations, Missing, BindingMissing string
	// TemplatePolicy and TemplateBindings are the verdicts on a
	// workload's template: the governing policy's and the bindings'.
	TemplatePolicy, TemplateBindings string
	// Denied, Warnings and Audits are the messages of the failed
	// validations under their bindings' actions.
	Denied, Warnings, Audits []string
}

// Refused reports whether the apiserver rejects the request.
func (d Decision) Refused() bool { return len(d.Denied) > 0 }

// Messages are the verdicts of the policies that fail, in the order the
// apiserver evaluates them.
func (d Decision) Messages() []string {
	var out []string
	for _, m := range []string{d.Violations, d.Missing, d.BindingMissing, d.TemplatePolicy, d.TemplateBindings} {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// unknownUser is the user of a Request that names none.
const unknownUser = "seccomp-operator:unknown-user"

// Evaluate decides an admission as the compiled admission policies do: it
// compiles them (Compile, CompileBindings; cached while the objects they
// come from are unchanged) and runs them with the apiserver's own code.
// For the fallback webhook, `seccompctl audit` and the tests.
func Evaluate(req Request, st State) (Decision, error) {
	ns := req.Namespace
	if ns == "" && req.Pod != nil {
		ns = req.Pod.Namespace
	}
	ps, err := partsFor(st, ns, req.Workload != nil)
	if err != nil {
		return Decision{}, err
	}
	programs := make([]*celeval.Programs, len(ps))
	for i, p := range ps {
		programs[i] = p.programs
	}
	run := celeval.Merge(programs, func(labels map[string]string) bool {
		return (st.Only == "" || labels[LabelPolicy] == st.Only) && (req.Describe || labels[labelProbe] == "")
	})
	roleOf := func(vap string) role {
		for _, p := range ps {
			if r, ok := p.roles[vap]; ok {
				return r
			}
		}
		return role{}
	}
	nsLabels := map[string]string{corev1.LabelMetadataName: ns} // as the apiserver labels every namespace
	for k, v := range req.NamespaceLabels {
		nsLabels[k] = v
	}
	user := req.Username
	if user == "" {
		// The apiserver always knows the user; a report on existing pods
		// does not, and judges them as made by a user no exemption names.
		user = unknownUser
	}
	creq := celeval.Request{
		Resource: "pods", Operation: admission.Create, Username: user,
		Namespace: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: nsLabels}},
	}
	if st.Index != nil {
		idx := *st.Index // read only: a shallow copy to set its type
		idx.APIVersion, idx.Kind = v1alpha1.GroupVersion.String(), "SeccompProfileIndex"
		creq.Params = &idx
	}
	switch {
	case req.Workload != nil:
		creq.Object, creq.Resource = req.Workload, req.Resource
	case req.Ephemeral:
		// The policies read of the old pod only that there is one.
		creq.Object, creq.OldObject, creq.Operation, creq.SubResource = req.Pod, req.Pod, admission.Update, "ephemeralcontainers"
	default:
		creq.Object = req.Pod
	}
	r, err := run.Evaluate(context.Background(), creq)
	if err != nil {
		return Decision{}, err
	}
	d := Decision{}
	var bound string
	for _, v := range r.Verdicts {
		r := roleOf(v.Policy)
		name := r.name
		switch r.kind {
		case roleGoverns:
			d.Policy = name
			continue
		case roleBound:
			bound = v.Message
			continue
		case roleValidating:
			d.Violations, d.Policy = v.Message, name
		case roleInstalled:
			d.Missing, d.Policy = v.Message, name
		case roleBindings:
			d.BindingMissing = v.Message
		case roleTemplates:
			d.TemplatePolicy, d.Policy = v.Message, name
		case roleBindingsTemplates:
			d.TemplateBindings = v.Message
		}
		switch v.Action {
		case admissionv1.Deny:
			d.Denied = append(d.Denied, v.Message)
		case admissionv1.Warn:
			d.Warnings = append(d.Warnings, v.Message)
		case admissionv1.Audit:
			d.Audits = append(d.Audits, v.Message)
		}
	}
	for i := range st.Policies {
		if p := &st.Policies[i]; d.Policy != "" && p.Name == d.Policy {
			d.Mode = p.Spec.Mode
			if d.Mode == "" {
				d.Mode = v1alpha1.PolicyModeEnforce
			}
		}
	}
	if req.Workload != nil {
		return d, nil
	}
	pod, ok := r.Object.(*corev1.Pod)
	if !ok {
		return Decision{}, fmt.Errorf("the mutating policies left a %T", r.Object)
	}
	pod.TypeMeta = req.Pod.TypeMeta // the type the apiserver's conversion set
	d.Pod, d.Changed = pod, r.Mutated
	changes(req.Pod, &d, bound)
	return d, nil
}

// changes reads what the mutating policies did (d.Pod against before)
// into d: the pod-level default written, legacy annotations translated,
// the containers bound (bound lists the containers that carry their
// binding's profile: "container=binding,...").
func changes(before *corev1.Pod, d *Decision, bound string) {
	_, podAnn := before.Annotations[podprofile.PodAnnotation]
	if sc := d.Pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil && (before.Spec.SecurityContext == nil || before.Spec.SecurityContext.SeccompProfile == nil) {
		if podAnn {
			d.Translated = true
		} else {
			d.Default = sc.SeccompProfile.DeepCopy()
		}
	}
	chosen := map[string]string{}
	for e := range strings.SplitSeq(bound, ",") {
		if c, b, ok := strings.Cut(e, "="); ok {
			chosen[c] = b
		}
	}
	written := func(old []corev1.Container, now []corev1.Container) {
		for i := range now {
			if i >= len(old) || old[i].SecurityContext != nil && old[i].SecurityContext.SeccompProfile != nil ||
				now[i].SecurityContext == nil || now[i].SecurityContext.SeccompProfile == nil {
				continue
			}
			_, ann := before.Annotations[podprofile.ContainerAnnotationPrefix+now[i].Name]
			if b, ok := chosen[now[i].Name]; ok && !ann {
				if d.Bound == nil {
					d.Bound = map[string]string{}
				}
				d.Bound[now[i].Name] = b
			} else {
				d.Translated = true
			}
		}
	}
	written(before.Spec.InitContainers, d.Pod.Spec.InitContainers)
	written(before.Spec.Containers, d.Pod.Spec.Containers)
	for i, e := range d.Pod.Spec.EphemeralContainers {
		if i < len(before.Spec.EphemeralContainers) && (before.Spec.EphemeralContainers[i].SecurityContext == nil || before.Spec.EphemeralContainers[i].SecurityContext.SeccompProfile == nil) &&
			e.SecurityContext != nil && e.SecurityContext.SeccompProfile != nil {
			d.Translated = true
		}
	}
}
