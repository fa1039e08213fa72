package policy

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

// LabelBindingNamespace marks the admission objects compiled from the
// ProfileBindings of a namespace with that namespace.
const LabelBindingNamespace = "seccomp-operator.dev/bindings-of"

// BindingsName names the admission objects (and their bindings) that carry
// the ProfileBindings of namespace.
func BindingsName(namespace string) string { return "seccomp-operator-bindings." + namespace }

// BindingsTemplatesName names the validating policy (and its binding) that
// warns about workload templates in namespace whose bound profile is
// missing or not installed.
func BindingsTemplatesName(namespace string) string {
	return "seccomp-operator-bindings-templates." + namespace
}

// BindingPrecedes reports whether binding a takes precedence over b where
// both match a container: higher priority, then the name that sorts first.
func BindingPrecedes(a, b *v1alpha1.ProfileBinding) bool {
	if a.Spec.Priority != b.Spec.Priority {
		return a.Spec.Priority > b.Spec.Priority
	}
	return a.Name < b.Name
}

// BindingObjects carry the ProfileBindings of one namespace: a mutating
// policy that writes each bound container's profile, and a validating one
// that refuses a pod whose bound profile is missing or not installed on
// every node (the pod could not start anyway; refusing says why at once).
type BindingObjects struct {
	Mutating        *admissionv1.MutatingAdmissionPolicy
	MutatingBinding *admissionv1.MutatingAdmissionPolicyBinding
	Installed       *admissionv1.ValidatingAdmissionPolicy
	InstalledBind   *admissionv1.ValidatingAdmissionPolicyBinding
	// Templates says the same of the pod templates of workloads, as a
	// warning (never refused: the pods are).
	Templates     *admissionv1.ValidatingAdmissionPolicy
	TemplatesBind *admissionv1.ValidatingAdmissionPolicyBinding
}

// mayMissBound is a match condition that leaves out, before any of the
// bindings' validating policy's work (its variables and message
// expression run on every request it matches, see validation), a pod
// whose every operator profile is installed: then no bound one is missing.
// It carries the installed set (indexCEL.withInstalled).
func mayMissBound(ix indexCEL) admissionv1.MatchCondition {
	fine := func(s set) string {
		each := func(list string) string {
			l := "object.spec." + list
			return "(!has(" + l + ") || " + l + ".all(c, !(has(c.securityContext) && has(c.securityContext.seccompProfile)) || " +
				"[" + fieldForm("c.securityContext.seccompProfile") + "].all(v, " + installedCEL("v", s) + ")))"
		}
		return each("initContainers") + " && " + each("containers")
	}
	return admissionv1.MatchCondition{Name: "may-miss-a-bound-profile", Expression: "!(" + ix.withInstalled(fine) + ")"}
}

// CompileBindings compiles the ProfileBindings of namespace (all of them,
// any order) into its admission objects. Precedence is resolved here, at
// compile time, into one chain of conditions, so the apiserver's order of
// evaluation cannot matter. The bindings apply to pod CREATE only: an
// ephemeral container is added to a running pod by someone who names its
// image on purpose. The installed checks carry what index (nil when none is
// published yet) says of the bound profiles (see indexCEL).
//
// The bindings CheckBinding refuses are left out: they bind nothing, and
// the others of the namespace still apply (their statuses say why).
func CompileBindings(namespace string, bindings []v1alpha1.ProfileBinding, index *v1alpha1.SeccompProfileIndex) (BindingObjects, error) {
	bindings = validBindings(bindings)
	if len(bindings) == 0 {
		return BindingObjects{}, nil
	}
	bound := make([]string, len(bindings))
	for i := range bindings {
		bound[i] = bindings[i].Spec.ProfileName
	}
	ix := indexOf(indexFor(index, bound))
	chosenPath, chosenName, err := chosenCEL(bindings)
	if err != nil {
		return BindingObjects{}, err
	}
	name := BindingsName(namespace)
	objLabels := map[string]string{LabelBindingNamespace: namespace, "app.kubernetes.io/managed-by": "seccomp-operator"}
	match := &admissionv1.MatchResources{ResourceRules: []admissionv1.NamedRuleWithOperations{podRule([]string{"pods"}, admissionv1.Create)}}
	// The namespace's own name label (set by the apiserver on every
	// namespace) scopes the objects to it.
	nsMatch := &admissionv1.MatchResources{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: namespace}}}
	vars := []admissionv1.Variable{
		mapVariable("podLabels", podSource.meta+".labels"),
		mapVariable("annotations", podSource.meta+".annotations"),
	}

	free := "!(has(c.securityContext) && has(c.securityContext.seccompProfile)) && !((" + quote(podprofile.ContainerAnnotationPrefix) + " + c.name) in variables.annotations)"
	// One JSON patch of add operations (see mutations in mutating.go).
	list := func(field string) string {
		typ := "Object.spec." + field
		value := typ + ".securityContext.seccompProfile{type: 'Localhost', localhostProfile: " + chosenPath("c") + "}"
		return "(has(object.spec." + field + ") ? object.spec." + field + ".transformList(i, c, " + free + " && " + chosenPath("c") + " != '', " +
			addProfile(quote("/spec/"+field+"/")+" + string(i)", "c", typ, value) + ") : [])"
	}
	o := BindingObjects{
		Mutating: &admissionv1.MutatingAdmissionPolicy{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: objLabels},
			Spec: admissionv1.MutatingAdmissionPolicySpec{
				MatchConstraints: match.DeepCopy(),
				Variables:        vars,
				Mutations: []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{
					Expression: list("initContainers") + " + " + list("containers")}}},
				FailurePolicy:      ptr.To(admissionv1.Fail),
				ReinvocationPolicy: admissionv1.NeverReinvocationPolicy,
			},
		},
		MutatingBinding: &admissionv1.MutatingAdmissionPolicyBinding{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: objLabels},
			Spec:       admissionv1.MutatingAdmissionPolicyBindingSpec{PolicyName: name, MatchResources: nsMatch.DeepCopy()},
		},
	}

	// bound: [kind, container, binding, profile] for each container that
	// carries the profile its binding chose: after the mutation above for
	// a pod; for a template, the containers the mutation will give it
	// (free) and those that name it themselves.
	entries := func(spec, field, kind string, template bool) string {
		l := spec + "." + field
		sets := "has(c.securityContext) && has(c.securityContext.seccompProfile)"
		carries := sets + " && c.securityContext.seccompProfile.type == 'Localhost' && " +
			"has(c.securityContext.seccompProfile.localhostProfile) && " + chosenPath("c") + " != '' && c.securityContext.seccompProfile.localhostProfile == " + chosenPath("c")
		if template {
			carries = "(" + free + " && " + chosenPath("c") + " != '') || (" + carries + ")"
		}
		return fmt.Sprintf("(has(%s) ? %s.filter(c, %s).map(c, [%s, string(c.name), %s, %s]) : [])",
			l, l, carries, quote(kind), chosenName("c"), profileOfPath(chosenPath("c")))
	}
	installed, reasons := "variables.installed", "variables.notInstalled"
	missing := func(spec string, template bool) []admissionv1.Variable {
		return append(ix.variables(),
			admissionv1.Variable{Name: "bound", Expression: entries(spec, "initContainers", "init container", template) + " + " + entries(spec, "containers", "container", template)},
			admissionv1.Variable{Name: "missing", Expression: "variables.bound.filter(e, !" + installed + ".contains(',' + e[3] + ',')).map(e, " +
				"e[0] + ' ' + e[1] + ': ProfileBinding ' + e[2] + ' binds SeccompProfile ' + e[3] + ', ' + " +
				"(e[3] in " + reasons + " ? 'which is ' + string(" + reasons + "[e[3]]) : 'which does not exist'))"})
	}
	vvars := append(slices.Clone(vars), missing("object.spec", false)...)
	o.Installed = &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: objLabels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			ParamKind:        ix.paramKind(),
			MatchConstraints: match.DeepCopy(),
			MatchConditions:  []admissionv1.MatchCondition{mayMissBound(ix)},
			Variables:        vvars,
			Validations: []admissionv1.Validation{{
				Expression:        "size(variables.missing) == 0",
				MessageExpression: "variables.missing.join('; ')",
				Reason:            ptr.To(metav1.StatusReasonForbidden),
			}},
			FailurePolicy: ptr.To(admissionv1.Fail),
		},
	}
	o.InstalledBind = binding(name, objLabels, nil, admissionv1.Deny, ix.params)
	o.InstalledBind.Spec.MatchResources = nsMatch.DeepCopy()

	tname := BindingsTemplatesName(namespace)
	tvars := append(slices.Clone(templateSource.prelude), templateLabels,
		mapVariable("annotations", templateSource.meta+".annotations"))
	tvars = append(tvars, missing(templateSource.spec, true)...)
	o.Templates = &admissionv1.ValidatingAdmissionPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: tname, Labels: objLabels},
		Spec: admissionv1.ValidatingAdmissionPolicySpec{
			ParamKind:        ix.paramKind(),
			MatchConstraints: &admissionv1.MatchResources{ResourceRules: workloadRules()},
			Variables:        tvars,
			Validations: []admissionv1.Validation{{
				Expression:        "size(variables.missing) == 0",
				MessageExpression: "'for the pods of this ' + request.kind.kind + ': ' + variables.missing.join('; ')",
			}},
			FailurePolicy: ptr.To(admissionv1.Ignore), // advice must never block a workload
		},
	}
	o.TemplatesBind = binding(tname, objLabels, nil, admissionv1.Warn, ix.params)
	o.TemplatesBind.Spec.MatchResources = nsMatch.DeepCopy()
	return o, nil
}

// sortBindings returns the bindings in precedence order.
func sortBindings(bindings []v1alpha1.ProfileBinding) []*v1alpha1.ProfileBinding {
	sorted := make([]*v1alpha1.ProfileBinding, len(bindings))
	for i := range bindings {
		sorted[i] = &bindings[i]
	}
	slices.SortFunc(sorted, func(a, b *v1alpha1.ProfileBinding) int {
		switch {
		case BindingPrecedes(a, b):
			return -1
		case BindingPrecedes(b, a):
			return 1
		}
		return 0
	})
	return sorted
}

// chosenCEL returns two functions of a container variable: the CEL
// expressions of the localhost path and of the name of the binding that
// binds it ("" when none does), the first matching binding in precedence
// order.
func chosenCEL(bindings []v1alpha1.ProfileBinding) (path, name func(c string) string, err error) {
	sorted := sortBindings(bindings)
	conds := make([]string, len(sorted))
	for i, b := range sorted {
		if conds[i], err = bindingMatchCEL(b); err != nil {
			return nil, nil, fmt.Errorf("ProfileBinding %s/%s: %w", b.Namespace, b.Name, err)
		}
	}
	chain := func(c string, value func(*v1alpha1.ProfileBinding) string) string {
		out := "''"
		for i := len(sorted) - 1; i >= 0; i-- {
			out = "(" + strings.ReplaceAll(conds[i], "$c", c) + " ? " + quote(value(sorted[i])) + " : " + out + ")"
		}
		return out
	}
	paths := make(map[*v1alpha1.ProfileBinding]string, len(sorted))
	for _, b := range sorted {
		if paths[b], err = nodepath.ProfilePath(b.Spec.ProfileName); err != nil {
			return nil, nil, fmt.Errorf("ProfileBinding %s/%s: spec.profileName: %w", b.Namespace, b.Name, err)
		}
	}
	path = func(c string) string {
		return chain(c, func(b *v1alpha1.ProfileBinding) string { return paths[b] })
	}
	name = func(c string) string {
		return chain(c, func(b *v1alpha1.ProfileBinding) string { return b.Name })
	}
	return path, name, nil
}

// profileOfPath is the CEL of the SeccompProfile name in an operator path
// expression ("operator/<name>.json").
func profileOfPath(path string) string {
	return fmt.Sprintf("%s.substring(%d, size(%s) - %d)", path, len(nodepath.OperatorDir)+1, path, len(nodepath.Ext))
}

// bindingMatchCEL is the CEL condition that binding b matches the
// container "$c" of the pod (variables.podLabels).
func bindingMatchCEL(b *v1alpha1.ProfileBinding) (string, error) {
	var parts []string
	if len(b.Spec.Images) > 0 {
		var alts []string
		for _, img := range b.Spec.Images {
			alts = append(alts, "$c.image.matches("+quote(imageRegexp(img))+")")
		}
		parts = append(parts, "(has($c.image) && ("+strings.Join(alts, " || ")+"))")
	}
	if len(b.Spec.ContainerNames) > 0 {
		parts = append(parts, "$c.name in "+stringList(b.Spec.ContainerNames))
	}
	if b.Spec.PodSelector != nil {
		sel, err := selectorCEL(b.Spec.PodSelector, "variables.podLabels", "true")
		if err != nil {
			return "", fmt.Errorf("podSelector: %w", err)
		}
		parts = append(parts, "("+sel+")")
	}
	if len(parts) == 0 {
		return "true", nil
	}
	return strings.Join(parts, " && "), nil
}

// imageRegexp turns an image pattern ("*" any run of characters) into an
// anchored RE2 expression, the same for CEL's matches() and Go's regexp.
func imageRegexp(pattern string) string {
	parts := strings.Split(pattern, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return "^" + strings.Join(parts, ".*") + "$"
}

// compileImage compiles an image pattern, to check it: CheckBinding
// refuses a binding with a pattern RE2 cannot compile (invalid UTF-8,
// which the CRD's pattern refuses but an object stored under an older
// schema may hold), so CEL's matches() never meets one.
func compileImage(pattern string) error {
	if _, err := regexp.Compile(imageRegexp(pattern)); err != nil {
		return fmt.Errorf("image %q: %w", pattern, err)
	}
	return nil
}
