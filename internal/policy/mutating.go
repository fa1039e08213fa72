package policy

import (
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

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
