package policy

import (
	"fmt"
	"slices"
	"strings"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

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
