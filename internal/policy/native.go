// Package policy compiles SeccompPolicy objects into the apiserver's own
// admission policies: a MutatingAdmissionPolicy that writes the default
// profile into pods that set none, and a ValidatingAdmissionPolicy that
// judges each container's effective profile against the allowed list. The
// apiserver evaluates them itself (CEL), so pod admission has no network
// hop and keeps working while the operator is down.
//
// The CEL mirrors internal/podprofile's resolution (container field →
// container annotation → pod field → pod annotation → node default);
// policy tests run both on the same cases.
package policy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

// LabelPolicy marks the admission objects compiled from a SeccompPolicy
// with its name.
const LabelPolicy = "seccomp-operator.dev/policy"

// AlwaysExempt are the namespaces no policy touches besides the operator's
// own: the control plane's and the node agents' pods must start even when a
// policy is wrong.
var AlwaysExempt = []string{"kube-system"}

// source says where a pod's spec and metadata are in the admitted object:
// the pod itself, or a workload's pod template.
type source struct {
	spec, meta string // CEL expressions of the PodSpec and the pod's ObjectMeta
	// specInline is spec usable in a match condition (which cannot see
	// variables).
	specInline string
	// prelude are variables spec and meta need.
	prelude []admissionv1.Variable
	// bound, when set, is the CEL of the operator path a ProfileBinding
	// gives container c ("" when none does): templates are judged as the
	// pods created from them will be, after the bindings' mutation.
	bound func(c string) string
}

var (
	podSource = source{spec: "object.spec", meta: "object.metadata", specInline: "object.spec"}
	// templateInline finds the pod template of a Deployment, StatefulSet,
	// DaemonSet, ReplicaSet, Job or CronJob.
	templateInline = "(request.kind.kind == 'CronJob' ? object.spec.jobTemplate.spec.template : object.spec.template)"
	templateSource = source{spec: "variables.template.spec", meta: "variables.template.metadata",
		specInline: templateInline + ".spec",
		prelude:    []admissionv1.Variable{{Name: "template", Expression: templateInline}}}
	// templateLabels are the labels of the template's pods, which
	// ProfileBindings' pod selectors read (bindingMatchCEL).
	templateLabels = mapVariable("podLabels", templateSource.meta+".labels")
)

// Objects are the admission objects of one policy; a nil pair means the
// policy needs none of that kind.
type Objects struct {
	Mutating        *admissionv1.MutatingAdmissionPolicy
	MutatingBinding *admissionv1.MutatingAdmissionPolicyBinding
	// Validating judges the allowed list (nil without one) and, once the
	// index is carried as literals, also the installed check.
	Validating     *admissionv1.ValidatingAdmissionPolicy
	ValidatingBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Installed judges that each container's operator profile exists and
	// is installed on every node, when Validating does not: for a policy
	// without an allowed list, or while the index is read as params.
	Installed     *admissionv1.ValidatingAdmissionPolicy
	InstalledBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Templates gives the same verdicts on the pod templates of
	// workloads, as warnings (the pods are what enforce refuses), so
	// users learn at kubectl apply, not from a ReplicaSet's events.
	Templates     *admissionv1.ValidatingAdmissionPolicy
	TemplatesBind *admissionv1.ValidatingAdmissionPolicyBinding
	// Note is what the policy's status should add to Ready ("" for
	// nothing): a limit the compiled objects ran into.
	Note string
}

// MutatingName and ValidatingName name a policy's admission objects (each
// binding has its policy's name).
func MutatingName(policy string) string   { return "seccomp-operator-default." + policy }
func ValidatingName(policy string) string { return "seccomp-operator-allowed." + policy }
func InstalledName(policy string) string  { return "seccomp-operator-installed." + policy }
func TemplatesName(policy string) string  { return "seccomp-operator-templates." + policy }

// Precedes reports whether policy a takes precedence over b where both
// select a namespace: higher priority, then the name that sorts first.
func Precedes(a, b *v1alpha1.SeccompPolicy) bool {
	if a.Spec.Priority != b.Spec.Priority {
		return a.Spec.Priority > b.Spec.Priority
	}
	return a.Name < b.Name
}

// Compile returns the admission objects for p, given every policy in the
// cluster (for precedence), the operator's namespace (always exempt), the
// ProfileBindings of every namespace (the workload-template check applies
// them, as the pods' own admission will) and the profile index (nil when
// none is published yet): the installed checks carry it in their
// expressions (see indexCEL), so each index change rewrites them.
//
// A policy CheckPolicy refuses compiles to CheckPolicy's error, and takes no
// part in the others' precedence; a ProfileBinding CheckBinding refuses is
// left out of the template check.
func Compile(p *v1alpha1.SeccompPolicy, all []v1alpha1.SeccompPolicy, operatorNamespace string, bindings []v1alpha1.ProfileBinding, index *v1alpha1.SeccompProfileIndex) (Objects, error) {
	if err := CheckPolicy(p); err != nil {
		return Objects{}, err
	}
	def, err := defaultProfile(p.Spec.DefaultProfile)
	if err != nil {
		return Objects{}, err
	}
	ix := indexOf(index)
	conds := matchConditions(p, podSource)
	gov, err := governs(p, validPolicies(all))
	if err != nil {
		return Objects{}, err
	}
	match := &admissionv1.MatchResources{
		ResourceRules: []admissionv1.NamedRuleWithOperations{
			podRule([]string{"pods"}, admissionv1.Create),
			podRule([]string{"pods/ephemeralcontainers"}, admissionv1.Update),
		},
	}
	nsSel := NamespaceSelector(p, operatorNamespace)
	labels := map[string]string{LabelPolicy: p.Name, "app.kubernetes.io/managed-by": "seccomp-operator"}
	var o Objects
	// Every policy mutates: legacy annotations become fields, and the
	// default (when the policy has one) fills what is unset.
	{
		name := MutatingName(p.Name)
		o.Mutating = &admissionv1.MutatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.MutatingAdmissionPolicySpec{
				MatchConstraints:   match.DeepCopy(),
				MatchConditions:    append(slices.Clone(conds), mayMutate()),
				Variables:          governsVariable(gov),
				Mutations:          mutations(def, gov),
				FailurePolicy:      ptr.To(admissionv1.Fail),
				ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			},
		}
		o.MutatingBinding = &admissionv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.MutatingAdmissionPolicyBindingSpec{
				PolicyName:     name,
				MatchResources: &admissionv1.MatchResources{NamespaceSelector: nsSel.DeepCopy()},
			},
		}
	}
	// The allowed list and the installed check. Each validating policy the
	// apiserver dispatches costs it activations and their variables, so
	// once the index is carried as literals both checks are one
	// validation of one policy. While the installed check reads the index
	// as params they stay apart: a missing index makes the apiserver skip
	// that policy whole (parameterNotFoundAction Allow), and the allowed
	// list must still hold.
	//
	// Audit mode needs no auditAnnotations of ours: the apiserver records a
	// failed validation with action Audit in the audit event
	// (validation.policy.admission.k8s.io/validation_failure, with the
	// message).
	vap := func(name string, allowed, installed bool) *admissionv1.ValidatingAdmissionPolicy {
		vars, check, mayFail := validation(p, gov, podSource, "", ix, allowed, installed, quote("SeccompPolicy "+p.Name+": "))
		check.Reason = ptr.To(metav1.StatusReasonForbidden)
		params := ix.paramKind()
		if !installed {
			params = nil
		}
		return &admissionv1.ValidatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Spec: admissionv1.ValidatingAdmissionPolicySpec{
				ParamKind:        params,
				MatchConstraints: match.DeepCopy(),
				MatchConditions:  append(slices.Clone(conds), mayFail),
				Variables:        vars,
				Validations:      []admissionv1.Validation{check},
				FailurePolicy:    ptr.To(admissionv1.Fail),
			},
		}
	}
	switch name := ValidatingName(p.Name); {
	case len(p.Spec.AllowedProfiles) == 0:
		name = InstalledName(p.Name)
		o.Installed = vap(name, false, true)
		o.InstalledBind = binding(name, labels, nsSel, action(p.Spec.Mode), ix.params)
	case ix.params:
		o.Validating = vap(name, true, false)
		o.ValidatingBind = binding(name, labels, nsSel, action(p.Spec.Mode), false)
		installed := InstalledName(p.Name)
		o.Installed = vap(installed, false, true)
		o.InstalledBind = binding(installed, labels, nsSel, action(p.Spec.Mode), true)
	default:
		o.Validating = vap(name, true, true)
		o.ValidatingBind = binding(name, labels, nsSel, action(p.Spec.Mode), false)
	}

	o.Templates, o.TemplatesBind, o.Note = templates(p, def, gov, nsSel, labels, validBindings(bindings), ix)
	return o, nil
}

// templateBindingsBudget bounds the binding chain the template check
// carries (characters of one copy; the check holds four): CEL refuses an
// expression of more than 100,000 code points, and a refused template
// check would leave the whole policy unapplied. About 100 bindings fit.
const templateBindingsBudget = 20000

// boundCEL is the CEL of the operator path the ProfileBindings of the
// request's namespace give container c, "" when none does; nil when there
// are no bindings, or when they exceed templateBindingsBudget (then note
// says so). A namespace whose bindings do not compile is left out: its
// pods are not bound either (the binding's status says why).
func boundCEL(bindings []v1alpha1.ProfileBinding) (bound func(c string) string, note string) {
	byNS := map[string][]v1alpha1.ProfileBinding{}
	for _, b := range bindings {
		byNS[b.Namespace] = append(byNS[b.Namespace], b)
	}
	type nsChain struct {
		ns   string
		path func(string) string
	}
	var chains []nsChain
	for _, ns := range slices.Sorted(maps.Keys(byNS)) {
		path, _, err := chosenCEL(byNS[ns])
		if err != nil {
			continue
		}
		chains = append(chains, nsChain{ns, path})
	}
	if len(chains) == 0 {
		return nil, ""
	}
	bound = func(c string) string {
		out := "''"
		for i := len(chains) - 1; i >= 0; i-- {
			out = "(request.namespace == " + quote(chains[i].ns) + " ? " + chains[i].path(c) + " : " + out + ")"
		}
		return out
	}
	if n := len(bound("c")); n > templateBindingsBudget {
		return nil, fmt.Sprintf("the workload-template check judges templates without the ProfileBindings: the %d bindings need %d characters of CEL, more than its budget of %d", len(bindings), n, templateBindingsBudget)
	}
	return bound, ""
}

// templates compiles the workload-template policy: the allowed list and
// the installed check on the template's pods, where a pod-level profile
// the template leaves unset counts as the policy's default (the pods will
// get it at creation).
func templates(p *v1alpha1.SeccompPolicy, defProfile *corev1.SeccompProfile, gov string, nsSel *metav1.LabelSelector, labels map[string]string, bindings []v1alpha1.ProfileBinding, ix indexCEL) (*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, string) {
	def := ""
	if defProfile != nil {
		def = goFieldForm(defProfile)
	}
	src := templateSource
	var note string
	if src.bound, note = boundCEL(bindings); src.bound != nil {
		src.prelude = append(slices.Clone(src.prelude), templateLabels)
	}
	prefix := quote("SeccompPolicy "+p.Name+", for the pods of this ") + " + request.kind.kind + ': '"
	vars, check, _ := validation(p, gov, src, def, ix, len(p.Spec.AllowedProfiles) > 0, true, prefix)
	name := TemplatesName(p.Name)
	vap := &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			ParamKind:        ix.paramKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			MatchConditions:  matchConditions(p, templateSource),
			Variables:        vars,
			Validations:      []admissionv1.Validation{check},
			FailurePolicy:    ptr.To(admissionv1.Ignore), // advice must never block a workload
		},
	}
	act := admissionv1.Warn
	if p.Spec.Mode == v1alpha1.PolicyModeAudit {
		act = admissionv1.Audit
	}
	bind := binding(name, labels, nsSel, act, ix.params)
	return vap, bind, note
}

// workloadRules match CREATE and UPDATE of the workloads whose pod
// templates are checked.
func workloadRules() []admissionv1.NamedRuleWithOperations {
	workloads := func(group string, resources ...string) admissionv1.NamedRuleWithOperations {
		return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
			Operations: []admissionv1.OperationType{admissionv1.Create, admissionv1.Update},
			Rule: admissionv1.Rule{APIGroups: []string{group}, APIVersions: []string{"v1"}, Resources: resources,
				Scope: ptr.To(admissionv1.NamespacedScope)},
		}}
	}
	return []admissionv1.NamedRuleWithOperations{
		workloads("apps", "deployments", "statefulsets", "daemonsets", "replicasets"),
		workloads("batch", "jobs", "cronjobs"),
	}
}

// binding binds the validating policy name to the namespaces nsSel
// selects with one action; withIndex gives it the profile index as params.
// Without the index (the manager never ran, or it was deleted) nothing can
// be said of installed profiles: the policy then admits, as if absent.
func binding(name string, labels map[string]string, nsSel *metav1.LabelSelector, act admissionv1.ValidationAction, withIndex bool) *admissionv1.ValidatingAdmissionPolicyBinding {
	b := &admissionv1.ValidatingAdmissionPolicyBinding{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: admissionv1.ValidatingAdmissionPolicyBindingSpec{
			PolicyName:        name,
			MatchResources:    &admissionv1.MatchResources{NamespaceSelector: nsSel.DeepCopy()},
			ValidationActions: []admissionv1.ValidationAction{act},
		},
	}
	if withIndex {
		b.Spec.ParamRef = &admissionv1.ParamRef{Name: v1alpha1.ProfileIndexName, ParameterNotFoundAction: ptr.To(admissionv1.AllowAction)}
	}
	return b
}

// installedCEL holds when the effective profile v (a CEL string in the
// normal form) is not an operator profile, or one the installed set s
// lists.
func installedCEL(v string, s set) string {
	prefix := "localhost/" + nodepath.OperatorDir + "/"
	managed := fmt.Sprintf("%s.startsWith(%s) && %s.endsWith(%s) && size(%s) > %d", v, quote(prefix), v, quote(nodepath.Ext), v, len(prefix)+len(nodepath.Ext))
	return "(!(" + managed + ") || " + s.has(operatorName(v)) + ")"
}

// operatorName is the SeccompProfile name of the operator profile v (a CEL
// string "localhost/operator/<name>.json").
func operatorName(v string) string {
	prefix := "localhost/" + nodepath.OperatorDir + "/"
	return fmt.Sprintf("%s.substring(%d, size(%s) - %d)", v, len(prefix), v, len(nodepath.Ext))
}

func podRule(resources []string, op admissionv1.OperationType) admissionv1.NamedRuleWithOperations {
	return admissionv1.NamedRuleWithOperations{RuleWithOperations: admissionv1.RuleWithOperations{
		Operations: []admissionv1.OperationType{op},
		Rule: admissionv1.Rule{
			APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: resources,
			Scope: ptr.To(admissionv1.NamespacedScope),
		},
	}}
}

func action(m v1alpha1.PolicyMode) admissionv1.ValidationAction {
	switch m {
	case v1alpha1.PolicyModeWarn:
		return admissionv1.Warn
	case v1alpha1.PolicyModeAudit:
		return admissionv1.Audit
	}
	return admissionv1.Deny
}

// NamespaceSelector is the namespaces the policy applies to (its admission
// policies' bindings, and its fallback webhook, select them): its
// own selector, less the exempt namespaces (by the name label the apiserver
// sets on every namespace). Matching a binding's selector is a label match,
// where a match condition would cost the apiserver a CEL evaluation in
// every policy for every pod.
func NamespaceSelector(p *v1alpha1.SeccompPolicy, operatorNamespace string) *metav1.LabelSelector {
	exemptNS := append(slices.Clone(AlwaysExempt), p.Spec.Exemptions.Namespaces...)
	if operatorNamespace != "" {
		exemptNS = append(exemptNS, operatorNamespace)
	}
	slices.Sort(exemptNS)
	sel := p.Spec.NamespaceSelector.DeepCopy()
	sel.MatchExpressions = append(sel.MatchExpressions, metav1.LabelSelectorRequirement{
		Key: corev1.LabelMetadataName, Operator: metav1.LabelSelectorOpNotIn, Values: slices.Compact(exemptNS)})
	return sel
}

// matchConditions: the exemptions of users and runtime classes (the
// namespaces are left out by namespaceSelector).
func matchConditions(p *v1alpha1.SeccompPolicy, src source) []admissionv1.MatchCondition {
	var conds []admissionv1.MatchCondition
	if u := p.Spec.Exemptions.Usernames; len(u) > 0 {
		conds = append(conds, admissionv1.MatchCondition{
			Name:       "not-an-exempt-user",
			Expression: "!(request.userInfo.username in " + stringList(u) + ")",
		})
	}
	if rc := p.Spec.Exemptions.RuntimeClasses; len(rc) > 0 {
		conds = append(conds, admissionv1.MatchCondition{
			Name:       "not-an-exempt-runtime-class",
			Expression: "!has(" + src.specInline + ".runtimeClassName) || !(" + src.specInline + ".runtimeClassName in " + stringList(rc) + ")",
		})
	}
	return conds
}

// governed is the check expr, applied when the policy governs the
// request (gov, see governs). A policy nothing precedes governs every
// request it matches, and its checks then read no variable for it: each
// variable read costs the apiserver an evaluation of its own.
func governed(gov, expr string) string {
	if gov == "true" {
		return expr
	}
	return "!variables.governs || (" + expr + ")"
}

// governs is a CEL expression that holds when no policy that precedes p
// selects the request's namespace. It is a variable, not a match condition:
// match conditions cannot see namespaceObject.
func governs(p *v1alpha1.SeccompPolicy, all []v1alpha1.SeccompPolicy) (string, error) {
	var before []string
	for i := range all {
		q := &all[i]
		if q.Name == p.Name || !Precedes(q, p) {
			continue
		}
		sel, err := selectorCEL(&q.Spec.NamespaceSelector, "namespaceObject.metadata.labels", "has(namespaceObject.metadata.labels)")
		if err != nil {
			return "", fmt.Errorf("policy %s: namespaceSelector: %w", q.Name, err)
		}
		before = append(before, "!("+sel+")")
	}
	if len(before) == 0 {
		return "true", nil
	}
	slices.Sort(before)
	return strings.Join(before, " && "), nil
}

// selectorCEL is a CEL expression that holds when the label map labels
// (a CEL expression, usable when has holds) matches sel.
func selectorCEL(sel *metav1.LabelSelector, labels, has string) (string, error) {
	var parts []string
	keys := make([]string, 0, len(sel.MatchLabels))
	for k := range sel.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("(%s && %s in %s && %s[%s] == %s)", has, quote(k), labels, labels, quote(k), quote(sel.MatchLabels[k])))
	}
	for _, r := range sel.MatchExpressions {
		k := quote(r.Key)
		switch r.Operator {
		case metav1.LabelSelectorOpIn:
			parts = append(parts, fmt.Sprintf("(%s && %s in %s && %s[%s] in %s)", has, k, labels, labels, k, stringList(r.Values)))
		case metav1.LabelSelectorOpNotIn:
			parts = append(parts, fmt.Sprintf("(!%s || !(%s in %s) || !(%s[%s] in %s))", has, k, labels, labels, k, stringList(r.Values)))
		case metav1.LabelSelectorOpExists:
			parts = append(parts, fmt.Sprintf("(%s && %s in %s)", has, k, labels))
		case metav1.LabelSelectorOpDoesNotExist:
			parts = append(parts, fmt.Sprintf("(!%s || !(%s in %s))", has, k, labels))
		default:
			return "", fmt.Errorf("unknown operator %q", r.Operator)
		}
	}
	if len(parts) == 0 {
		return "true", nil // an empty selector selects every namespace
	}
	return strings.Join(parts, " && "), nil
}

// governsVariable declares governs (see governs) where a check needs it
// (see governed). The policies declare no other variable of their own: the
// apiserver builds every declared variable into each activation of a
// policy, read or not, and evaluates each read one as a program of its own
// (see validation).
func governsVariable(gov string) []admissionv1.Variable {
	if gov == "true" {
		return nil
	}
	return []admissionv1.Variable{{Name: "governs", Expression: gov}}
}

// mapVariable is a variable holding the map field (labels, annotations), or
// an empty map when the object has none.
func mapVariable(name, field string) admissionv1.Variable {
	return admissionv1.Variable{Name: name, Expression: "has(" + field + ") ? " + field + " : {}"}
}

// hasAnnotation holds when the pod of src carries the annotation key (a
// CEL string); annotation is its value.
func hasAnnotation(src source, key string) string {
	return "(has(" + src.meta + ".annotations) && " + key + " in " + src.meta + ".annotations)"
}

func annotation(src source, key string) string {
	return "string(" + src.meta + ".annotations[" + key + "])"
}

// podProfileCEL is the pod-level profile of src in the normal form
// ("RuntimeDefault", "Unconfined", "localhost/<path>"): the field's, else
// the legacy annotation's, else def (the default a pod created from a
// template will get; "" for a pod).
func podProfileCEL(src source, def string) string {
	key := quote(podprofile.PodAnnotation)
	return "(has(" + src.spec + ".securityContext) && has(" + src.spec + ".securityContext.seccompProfile) ? " +
		fieldForm(src.spec+".securityContext.seccompProfile") + " : " +
		"(" + hasAnnotation(src, key) + " ? " + annotationForm(annotation(src, key)) + " : " + quote(def) + "))"
}

// fieldForm turns a seccompProfile field into the normal form.
func fieldForm(f string) string {
	return fmt.Sprintf("(%s.type == 'Localhost' ? 'localhost/' + (has(%s.localhostProfile) ? %s.localhostProfile : '') : %s.type)", f, f, f, f)
}

// annotationForm turns a legacy annotation value into the normal form; an
// unknown value gives "" (the kubelet ignores it too).
func annotationForm(v string) string {
	return fmt.Sprintf("(%s in ['runtime/default', 'docker/default'] ? 'RuntimeDefault' : %s == 'unconfined' ? 'Unconfined' : %s.startsWith('localhost/') ? %s : '')", v, v, v, v)
}

// containerForm is the effective profile of container c (a CEL variable
// bound to a container of any kind) of src's pod, whose pod-level profile
// is pp, "" meaning the node's default. With src.bound, a container that
// sets neither the field nor the container annotation gets its binding's
// profile, as the bindings' mutation writes it into the field.
func containerForm(c string, src source, pp string) string {
	key := quote(podprofile.ContainerAnnotationPrefix) + " + " + c + ".name"
	ann := annotationForm(annotation(src, key))
	field := fieldForm(c + ".securityContext.seccompProfile")
	if src.bound == nil {
		return fmt.Sprintf("(has(%s.securityContext) && has(%s.securityContext.seccompProfile) ? %s : (%s && %s != '' ? %s : %s))",
			c, c, field, hasAnnotation(src, key), ann, ann, pp)
	}
	return fmt.Sprintf("(has(%s.securityContext) && has(%s.securityContext.seccompProfile) ? %s : (%s ? (%s != '' ? %s : %s) : [%s].map(b, b != '' ? 'localhost/' + b : %s)[0]))",
		c, c, field, hasAnnotation(src, key), ann, ann, pp, src.bound(c), pp)
}

// validation is the check of a validating policy on the pods of src: the
// allowed list (allowed) and/or the installed check (installed), as one
// validation, and the variables it reads. msgPrefix (CEL) starts its
// message. For pods, mayFail is a match condition that holds when the
// check does not: the apiserver evaluates the policy only for the pods it
// may refuse.
//
// The apiserver evaluates a matched validating policy in three activations
// (validations, message expressions, audit annotations; the message
// expressions on every request, not only on failure), and builds every
// declared variable into each; a match condition costs one activation. So
// for pods the whole check is also the match condition, which carries the
// installed set itself (indexCEL.withInstalled; an empty set while the
// index is read as params: a pod naming an operator profile is then
// matched and judged by the validation). The validation's check declares no variable but the index
// and governs; its message expression first repeats the check (cheap: the
// pod's fields are read once per request) and builds the list of offending
// containers only when it fails. A workload's template, rarely admitted,
// goes without both, which keeps the ProfileBindings the template check
// carries to four copies (templateBindingsBudget).
func validation(p *v1alpha1.SeccompPolicy, gov string, src source, def string, ix indexCEL, allowed, installed bool, msgPrefix string) ([]admissionv1.Variable, admissionv1.Validation, admissionv1.MatchCondition) {
	vars := append(slices.Clone(src.prelude), governsVariable(gov)...)
	ok := func(v string, s set) string { return "true" }
	var parts []string // CEL lists of message parts, given the judged list "judged"
	if allowed {
		allowedOK := allowedOf(p)
		ok = func(v string, _ set) string { return allowedOK(v) }
		violations := "judged.filter(e, !" + allowedOK("e[2]") + ").map(e, e[0] + ' ' + e[1] + ': ' + (e[2] == '' ? 'Unconfined (sets no profile: the node default)' : e[2]))"
		parts = append(parts, "(judged.exists(e, !"+allowedOK("e[2]")+") ? ["+quote("seccomp profile not allowed for ")+" + "+violations+".join('; ') + "+quote(" (allowed: "+allowedList(p)+")")+"] : [])")
	}
	if installed {
		vars = append(vars, ix.variables()...)
		nameOf, reasons := operatorName("e[2]"), "variables.notInstalled"
		parts = append(parts, "judged.filter(e, !"+installedCEL("e[2]", variableSet)+").map(e, e[0] + ' ' + e[1] + ': ' + e[2] + ': ' + ("+
			nameOf+" in "+reasons+" ? 'SeccompProfile ' + "+nameOf+" + ' is ' + string("+reasons+"["+nameOf+"]) : 'no SeccompProfile ' + "+nameOf+" + ' exists'))")
		if allowed {
			allowedOK := ok
			ok = func(v string, s set) string { return "(" + allowedOK(v, s) + " && " + installedCEL(v, s) + ")" }
		} else {
			ok = installedCEL
		}
	}
	judge := func(s set) string {
		each := func(v string) string { return ok(v, s) }
		return "[" + podProfileCEL(src, def) + "].all(pp, [" + each("pp") + "].all(podOK, " + eachJudgedCEL(src, each, "podOK") + "))"
	}
	check := governed(gov, judge(variableSet))
	message := "[" + podProfileCEL(src, def) + "].map(pp, [" + judgedCEL(src, "pp") + "].map(judged, " +
		msgPrefix + " + (" + strings.Join(parts, " + ") + ").join('; '))[0])[0]"
	if src.spec != podSource.spec {
		return vars, admissionv1.Validation{Expression: check, MessageExpression: message}, admissionv1.MatchCondition{}
	}
	message = "(" + check + ") ? '' : " + message
	// (Without the installed check the index is read as params, see
	// Compile, and judge reads no set.)
	mayFail := "!(" + ix.withInstalled(judge) + ")"
	return vars, admissionv1.Validation{Expression: check, MessageExpression: message}, admissionv1.MatchCondition{Name: "may-fail-the-check", Expression: mayFail}
}

// judgedCEL lists the judged containers of src's pod, whose pod-level
// profile is pp: one entry per container, [kind, name, effective profile
// in the normal form, "" for the node default]. A CREATE judges every
// container; an UPDATE of pods/ephemeralcontainers the ephemeral ones (the
// others were judged when the pod was created).
func judgedCEL(src source, pp string) string {
	entries := func(list, kind string) string {
		l := src.spec + "." + list
		return fmt.Sprintf("(has(%s) ? %s.map(c, [%s, string(c.name), string(%s)]) : [])", l, l, quote(kind), containerForm("c", src, pp))
	}
	all := entries("initContainers", "init container") + " + " + entries("containers", "container")
	if src.spec != podSource.spec {
		return all // templates have no ephemeral containers
	}
	return "(oldObject == null ? " + all + " + " + entries("ephemeralContainers", "ephemeral container") +
		" : " + entries("ephemeralContainers", "ephemeral container") + ")"
}

// eachJudgedCEL holds when ok (given a CEL string in the normal form, ""
// for the node default) holds for the effective profile of every judged
// container (judgedCEL says which). It walks the container lists
// directly, building nothing for a container that sets no profile of its
// own (the common case, once the mutating policy wrote the pod-level
// default): that costs a look at its security context and the annotations
// and a read of podOK, ok of the pod-level profile, computed once. A
// container's own profile (field, else container annotation, else its
// binding's; "" for none) is bound to a comprehension variable, so ok,
// which reads it several times, is written once per list. Mirrors
// containerForm.
func eachJudgedCEL(src source, ok func(v string) string, podOK string) string {
	key := quote(podprofile.ContainerAnnotationPrefix) + " + c.name"
	field := "has(c.securityContext) && has(c.securityContext.seccompProfile)"
	own := "(" + field + " ? " + fieldForm("c.securityContext.seccompProfile") + " : " + annotationForm(annotation(src, key)) + ")"
	if src.bound != nil {
		own = "(" + field + " ? " + fieldForm("c.securityContext.seccompProfile") + " : " + hasAnnotation(src, key) + " ? " + annotationForm(annotation(src, key)) + " : " +
			"[" + src.bound("c") + "].map(b, b == '' ? '' : 'localhost/' + b)[0])"
	}
	each := "[" + own + "].all(v, v == '' ? " + podOK + " : " + ok("v") + ")"
	if src.bound == nil {
		each = "(" + field + " || " + hasAnnotation(src, key) + " ? " + each + " : " + podOK + ")"
	}
	all := func(list string) string {
		l := src.spec + "." + list
		return "(!has(" + l + ") || " + l + ".all(c, " + each + "))"
	}
	both := all("initContainers") + " && " + all("containers")
	if src.spec != podSource.spec {
		return both // templates have no ephemeral containers
	}
	// oldObject is null for a CREATE (and set for the UPDATE of
	// pods/ephemeralcontainers): cheaper to read than request.operation,
	// which the apiserver reads by reflection from the request.
	return "(oldObject != null || " + both + ") && " + all("ephemeralContainers")
}

// allowedOf is allowedCEL of p's list for a profile in the normal form,
// where "" (the node default) is Unconfined.
func allowedOf(p *v1alpha1.SeccompPolicy) func(v string) string {
	return func(v string) string {
		return "(" + allowedCEL(p.Spec.AllowedProfiles, "("+v+" == '' ? 'Unconfined' : "+v+")") + ")"
	}
}

// mutations translate legacy annotations into the fields (the kubelet
// ignores the annotations since Kubernetes 1.27; the apiserver only warns)
// and write the default (def, nil for none) where nothing is set:
//   - CREATE, no pod-level field: the pod annotation's profile, else def;
//   - CREATE: each container and init container with a container
//     annotation and no field gets the annotation's profile;
//   - UPDATE of pods/ephemeralcontainers: each ephemeral container without
//     a field gets its annotation's profile, else def when the pod has no
//     pod-level profile (the pod's security context cannot change after
//     creation).
//
// It is one JSON patch (each mutation costs the apiserver a pass over the
// whole pod, so one, not four), built only of "add" operations at paths
// that have no value yet. A JSON patch costs the apiserver an encoding and
// a decoding of the pod; an apply configuration a structured merge, which
// allocated three times as much (bench/admission -floor against
// -floor -floor-apply, docs/benchmarks.md section 6). gov is the policy's
// governs expression.
func mutations(def *corev1.SeccompProfile, gov string) []admissionv1.Mutation {
	podType := "Object.spec.securityContext.seccompProfile"
	podAnn := annotation(podSource, quote(podprofile.PodAnnotation))
	podValue := annotationLiteral(podAnn, podType)
	podWhen := hasAnnotation(podSource, quote(podprofile.PodAnnotation))
	if def != nil {
		podValue = "(" + podWhen + " ? " + podValue + " : " + fieldLiteral(def)(podType) + ")"
		podWhen = "true"
	}
	podLevel := "(oldObject == null && !(has(object.spec.securityContext) && has(object.spec.securityContext.seccompProfile)) && " + podWhen + " ? " +
		"[" + addProfile("'/spec'", "object.spec", "Object.spec", podValue) + "] : [])"

	noField := "!(has(c.securityContext) && has(c.securityContext.seccompProfile))"
	annKey := quote(podprofile.ContainerAnnotationPrefix) + " + c.name"
	hasAnn := hasAnnotation(podSource, annKey)
	ann := annotation(podSource, annKey)
	list := func(field, when, cond string) string {
		typ := "Object.spec." + field
		value := annotationLiteral(ann, typ+".securityContext.seccompProfile")
		if def != nil {
			value = "(" + hasAnn + " ? " + value + " : " + fieldLiteral(def)(typ+".securityContext.seccompProfile") + ")"
		}
		return "(" + when + " && has(object.spec." + field + ") ? object.spec." + field + ".transformList(i, c, " + noField + " && " + cond + ", " +
			addProfile(quote("/spec/"+field+"/")+" + string(i)", "c", typ, value) + ") : [])"
	}
	// Container annotations are rare: without one, a CREATE writes no
	// container, and the lists are not walked.
	onCreate := "oldObject == null && has(object.metadata.annotations) && " +
		"object.metadata.annotations.exists(k, k.startsWith(" + quote(podprofile.ContainerAnnotationPrefix) + "))"
	ephemeralCond := hasAnn
	if def != nil {
		ephemeralCond = "(" + hasAnn + " || " + podProfileCEL(podSource, "") + " == '')"
	}
	onEphemeral := "oldObject != null && has(request.subResource) && request.subResource == 'ephemeralcontainers'"
	expr := podLevel + " + " +
		list("containers", onCreate, hasAnn) + " + " +
		list("initContainers", onCreate, hasAnn) + " + " +
		list("ephemeralContainers", onEphemeral, ephemeralCond)
	if gov != "true" {
		expr = "!variables.governs ? [] : " + expr
	}
	return []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{Expression: expr}}}
}

// addProfile is the JSON patch operation that writes the seccompProfile
// value (a CEL value of type typ+".securityContext.seccompProfile") into
// the object at path (a CEL string), with the securityContext around it
// when obj (the CEL object at path) has none.
func addProfile(path, obj, typ, value string) string {
	sc := typ + ".securityContext"
	return "(has(" + obj + ".securityContext) ? " +
		"JSONPatch{op: 'add', path: " + path + " + '/securityContext/seccompProfile', value: " + value + "} : " +
		"JSONPatch{op: 'add', path: " + path + " + '/securityContext', value: " + sc + "{seccompProfile: " + value + "}})"
}

// mayMutate is a match condition that leaves out the pods the mutating
// policy has nothing to write into, before any of its work: a CREATE that
// sets its pod-level profile and carries no legacy seccomp annotation (the
// common case in a hardened cluster).
func mayMutate() admissionv1.MatchCondition {
	return admissionv1.MatchCondition{
		Name: "may-need-a-profile-written",
		Expression: "oldObject != null || !(has(object.spec.securityContext) && has(object.spec.securityContext.seccompProfile)) || " +
			"(has(object.metadata.annotations) && object.metadata.annotations.exists(k, k.startsWith(" + quote(podprofile.PodAnnotation) + ") || k.startsWith(" + quote(podprofile.ContainerAnnotationPrefix) + ")))",
	}
}

// annotationLiteral is the apply-configuration literal (of type typ) of the
// profile a legacy annotation value v (a CEL string the apiserver has
// validated) names.
func annotationLiteral(v, typ string) string {
	return fmt.Sprintf("((%s == 'runtime/default' || %s == 'docker/default') ? %s{type: 'RuntimeDefault'} : (%s == 'unconfined' ? %s{type: 'Unconfined'} : %s{type: 'Localhost', localhostProfile: %s.substring(%d)}))",
		v, v, typ, v, typ, typ, v, len("localhost/"))
}

// fieldLiteral returns a function that writes the seccompProfile literal of
// d in the apply-configuration type named by its argument.
func fieldLiteral(d *corev1.SeccompProfile) func(string) string {
	return func(typ string) string {
		if d.Type == corev1.SeccompProfileTypeLocalhost && d.LocalhostProfile != nil {
			return fmt.Sprintf("%s{type: 'Localhost', localhostProfile: %s}", typ, quote(*d.LocalhostProfile))
		}
		return fmt.Sprintf("%s{type: %s}", typ, quote(string(d.Type)))
	}
}

// allowedCEL holds when the effective profile v (a CEL string) is allowed.
func allowedCEL(allowed []v1alpha1.AllowedProfile, v string) string {
	var parts []string
	for _, a := range allowed {
		s := string(a)
		prefix, isPattern := strings.CutSuffix(s, "*")
		switch {
		case s == "*":
			return "true"
		case s == "RuntimeDefault" || s == "Unconfined":
			parts = append(parts, v+" == "+quote(s))
		case strings.HasPrefix(s, "localhost/"):
			if isPattern {
				parts = append(parts, v+".startsWith("+quote(prefix)+")")
			} else {
				parts = append(parts, v+" == "+quote(s))
			}
		case isPattern: // a prefix of SeccompProfile names
			parts = append(parts, fmt.Sprintf("(%s.startsWith(%s) && %s.endsWith(%s))",
				v, quote("localhost/"+nodepath.OperatorDir+"/"+prefix), v, quote(nodepath.Ext)))
		default: // a SeccompProfile name
			// CheckPolicy refuses a policy with an entry that names no
			// profile; were one to get here, it would match nothing.
			if path, err := nodepath.ProfilePath(s); err == nil {
				parts = append(parts, v+" == "+quote("localhost/"+path))
			}
		}
	}
	if len(parts) == 0 {
		return "false"
	}
	return strings.Join(parts, " || ")
}

func allowedList(p *v1alpha1.SeccompPolicy) string {
	allowed := make([]string, len(p.Spec.AllowedProfiles))
	for i, a := range p.Spec.AllowedProfiles {
		allowed[i] = string(a)
	}
	return strings.Join(allowed, ", ")
}

func quote(s string) string { return strconv.Quote(s) }

func stringList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
