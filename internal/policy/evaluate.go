package policy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/utils/ptr"

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

// State is the cluster's state the decisions depend on.
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
	d.Pod = pod
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

// The roles of the validating policies Evaluate runs.
const (
	roleValidating = iota + 1
	roleInstalled
	roleTemplates
	roleBindings
	roleBindingsTemplates
	// In-process only, never applied to a cluster: which policy governs
	// the pod (governsProbe) and which binding bound each container
	// (boundProbe).
	roleGoverns
	roleBound
)

type role struct {
	kind int
	name string // the policy's, or the bindings' namespace
}

// part are the compiled programs of one piece of a State, shared by every
// State that has it: the policies' pod checks, their template checks, the
// ProfileBindings of one namespace. A webhook's states differ by
// namespace (each has its own bindings) while the policies are the same.
type part struct {
	programs *celeval.Programs
	roles    map[string]role // by validating policy
}

// parts caches the compiled parts by partKey. Compiling is costly (each
// policy's CEL is parsed and checked); the states a webhook sees change
// rarely.
var parts = struct {
	sync.Mutex
	m map[string]*part
}{m: map[string]*part{}}

// partsSize bounds parts.
const partsSize = 256

// compiling lets the requests that miss the same part at once (a webhook
// under load, when the index changes) wait for one compilation.
var compiling singleflight.Group

// cachedPart is the part of key, compiled by compile when not cached.
func cachedPart(key string, compile func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error) (*part, error) {
	parts.Lock()
	p := parts.m[key]
	parts.Unlock()
	if p != nil {
		return p, nil
	}
	v, err, _ := compiling.Do(key, func() (any, error) {
		p := &part{roles: map[string]role{}}
		var mut []celeval.Mutating
		var val []celeval.Validating
		add := func(vap *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding, r role) {
			if vap != nil {
				val = append(val, celeval.Validating{Policy: vap, Binding: b})
				p.roles[vap.Name] = r
			}
		}
		if err := compile(add, &mut); err != nil {
			return nil, err
		}
		var err error
		if p.programs, err = celeval.Compile(mut, val); err != nil {
			return nil, err
		}
		parts.Lock()
		if len(parts.m) >= partsSize {
			clear(parts.m)
		}
		parts.m[key] = p
		parts.Unlock()
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*part), nil
}

// partsFor are the compiled parts a request in namespace ns needs: the
// policies' pod checks, or (workload) their template checks, and the
// namespace's bindings. Policies or bindings that do not compile are left
// out, as the controllers leave them unapplied (their statuses say why).
func partsFor(st State, ns string, workload bool) ([]*part, error) {
	var mine []v1alpha1.ProfileBinding
	for _, b := range st.Bindings {
		if b.Namespace == ns {
			mine = append(mine, b)
		}
	}
	policies, index := policiesKey(st), objectKey("i", st.Index)
	var out []*part
	if !workload {
		p, err := cachedPart("pods|"+policies+index, func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error {
			for i := range st.Policies {
				p := &st.Policies[i]
				o, err := Compile(p, st.Policies, st.OperatorNamespace, nil, st.Index)
				if err != nil {
					continue
				}
				*mut = append(*mut, celeval.Mutating{Policy: o.Mutating, Binding: o.MutatingBinding})
				add(o.Validating, o.ValidatingBind, role{roleValidating, p.Name})
				add(o.Installed, o.InstalledBind, role{roleInstalled, p.Name})
				probe, bind := governsProbe(p.Name, o)
				add(probe, bind, role{roleGoverns, p.Name})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	} else {
		// The template checks carry the bindings (of every namespace
		// given: they choose by the request's).
		var bindings strings.Builder
		for i := range st.Bindings {
			bindings.WriteString(objectKey("b", &st.Bindings[i]))
		}
		p, err := cachedPart("templates|"+policies+index+bindings.String(), func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), _ *[]celeval.Mutating) error {
			for i := range st.Policies {
				p := &st.Policies[i]
				if o, err := Compile(p, st.Policies, st.OperatorNamespace, st.Bindings, st.Index); err == nil {
					add(o.Templates, o.TemplatesBind, role{roleTemplates, p.Name})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(mine) == 0 {
		return out, nil
	}
	key := "bindings|" + ns + index
	for i := range mine {
		key += objectKey("b", &mine[i])
	}
	p, err := cachedPart(key, func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error {
		o, err := CompileBindings(ns, mine, st.Index)
		if err != nil || o.Mutating == nil {
			return nil
		}
		*mut = append(*mut, celeval.Mutating{Policy: o.Mutating, Binding: o.MutatingBinding})
		add(o.Installed, o.InstalledBind, role{roleBindings, ns})
		add(o.Templates, o.TemplatesBind, role{roleBindingsTemplates, ns})
		probe, bind := boundProbe(ns, o)
		add(probe, bind, role{roleBound, ns})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(out, p), nil
}

// policiesKey identifies the policies of st and what else their pod checks
// are compiled from.
func policiesKey(st State) string {
	var b strings.Builder
	b.WriteString(st.OperatorNamespace)
	for i := range st.Policies {
		b.WriteString(objectKey("p", &st.Policies[i]))
	}
	return b.String()
}

// objectKey identifies an object the programs are compiled from: a
// policy by its generation (its status changes nothing compiled), a
// binding or the index by its resourceVersion; one that has neither (read
// from a file, or built by a test) by its content. nil is "".
func objectKey(kind string, o interface {
	metav1.Object
	runtime.Object
}) string {
	if o == nil || reflect.ValueOf(o).IsNil() {
		return ""
	}
	key := "|" + kind + "/" + o.GetNamespace() + "/" + o.GetName() + "/" + string(o.GetUID())
	switch {
	case kind == "p" && o.GetUID() != "" && o.GetGeneration() != 0:
		return key + "/" + strconv.FormatInt(o.GetGeneration(), 10)
	case o.GetResourceVersion() != "":
		return key + "/" + o.GetResourceVersion()
	}
	j, _ := json.Marshal(o)
	sum := sha256.Sum256(j)
	return key + "#" + hex.EncodeToString(sum[:])
}

// labelProbe marks the in-process probes (governsProbe, boundProbe).
const labelProbe = "seccomp-operator.dev/in-process-probe"

// governsProbe is a validating policy that fails, as an audit, for every
// pod policy governs: its mutating policy's match (namespaces, exemptions)
// and governs, without the condition that leaves out the pods with
// nothing to write.
func governsProbe(policy string, o Objects) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	m := o.Mutating
	name := "seccomp-operator-governs." + policy
	vap := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: probeLabels(m.Labels)},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			MatchConstraints: m.Spec.MatchConstraints,
			MatchConditions:  slices.DeleteFunc(slices.Clone(m.Spec.MatchConditions), func(c admissionv1.MatchCondition) bool { return c.Name == mayMutate().Name }),
			Variables:        m.Spec.Variables,
			Validations:      []admissionv1.Validation{{Expression: governed(o.governs, "false"), Message: "governed"}},
			FailurePolicy:    ptr.To(admissionv1.Fail),
		},
	}
	return vap, binding(name, m.Labels, o.MutatingBinding.Spec.MatchResources.NamespaceSelector, admissionv1.Audit, false)
}

func probeLabels(l map[string]string) map[string]string {
	out := maps.Clone(l)
	out[labelProbe] = "true"
	return out
}

// boundProbe is a validating policy that fails, as an audit, for every pod
// with a container that carries its binding's profile, saying which
// ("container=binding,..."): the bindings' installed check's list of them.
func boundProbe(ns string, o BindingObjects) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding) {
	name := "seccomp-operator-bound." + ns
	spec := o.Installed.Spec.DeepCopy()
	spec.MatchConditions = nil
	spec.Validations = []admissionv1.Validation{{Expression: "size(variables.bound) == 0", MessageExpression: "variables.bound.map(e, e[1] + '=' + e[2]).join(',')"}}
	vap := &admissionv1.ValidatingAdmissionPolicy{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: probeLabels(o.Installed.Labels)}, Spec: *spec}
	b := o.InstalledBind.DeepCopy()
	b.Name, b.Spec.PolicyName, b.Spec.ValidationActions = name, name, []admissionv1.ValidationAction{admissionv1.Audit}
	// It reads no params: the index variables it declares are not read
	// (variables are evaluated when read), so it runs without an index too.
	b.Spec.ParamRef = nil
	return vap, b
}

// Governing is the policy that governs a namespace with the given labels,
// nil for none: of the policies CheckPolicy accepts (the others take no
// part), the first in precedence whose namespaceSelector selects it. For
// the reports that are not admission (the unconfined report).
func Governing(policies []v1alpha1.SeccompPolicy, namespaceLabels map[string]string) *v1alpha1.SeccompPolicy {
	var gov *v1alpha1.SeccompPolicy
	for i := range policies {
		p := &policies[i]
		if gov != nil && !Precedes(p, gov) || CheckPolicy(p) != nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err == nil && sel.Matches(labels.Set(namespaceLabels)) {
			gov = p
		}
	}
	return gov
}

// Exempts reports whether the policy's own spec.exemptions cover the
// request: its namespace, user or runtime class. For the reports that are
// not admission (the unconfined report); admission reads the exemptions
// from the compiled policies.
func Exempts(p *v1alpha1.SeccompPolicy, req Request) bool {
	if slices.Contains(p.Spec.Exemptions.Namespaces, req.Pod.Namespace) {
		return true
	}
	if slices.Contains(p.Spec.Exemptions.Usernames, req.Username) {
		return true
	}
	rc := req.Pod.Spec.RuntimeClassName
	return rc != nil && slices.Contains(p.Spec.Exemptions.RuntimeClasses, *rc)
}
