package policy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

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

func quote(s string) string { return strconv.Quote(s) }

func stringList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
