package policy

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// The table of admission cases (internal/policy/policycases), decided by
// the compiled policies run in-process: the pod, and a Deployment whose
// template it is.
func TestPolicyCaseTable(t *testing.T) {
	st := State{Policies: policycases.Policies(), Bindings: policycases.Bindings(), Index: policycases.Index(), OperatorNamespace: "seccomp-operator"}
	for _, c := range policycases.Cases {
		got, err := CaseDecision(c, st)
		if err != nil {
			t.Errorf("%s: %v", c.Name, err)
			continue
		}
		if got != c.Want {
			t.Errorf("%s:\n got  %#v\n want %#v", c.Name, got, c.Want)
		}
	}
}

// CaseDecision is what Evaluate decides of case c's pod and of a
// Deployment with it as template.
func CaseDecision(c policycases.Case, st State) (policycases.Want, error) {
	labels := policycases.Namespaces[c.Namespace]
	pod := c.Pod("p")
	d, err := Evaluate(Request{Pod: pod, NamespaceLabels: labels, Username: "system:admin"}, st)
	if err != nil {
		return policycases.Want{}, fmt.Errorf("pod: %w", err)
	}
	w := policycases.Want{Refused: d.Refused(), Messages: strings.Join(d.Messages(), "; ")}
	if !d.Refused() {
		w.Profiles = policycases.Profiles(d.Pod)
	}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: "d"},
		Spec:       appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}},
	}
	td, err := Evaluate(Request{Workload: dep, Resource: "deployments", Namespace: c.Namespace, NamespaceLabels: labels, Username: "system:admin"}, st)
	if err != nil {
		return policycases.Want{}, fmt.Errorf("template: %w", err)
	}
	w.Template = strings.Join(td.Messages(), "; ")
	return w, nil
}

// Evaluate reads its State and the request's pod and writes neither: the
// fallback webhook hands it the cache's own objects, uncopied, and makes
// its patch against the pod it passed. Every case, compiled afresh (a
// compilation that wrote to the policies would show), pod and template,
// with and without Describe.
func TestEvaluateLeavesItsInputAsIs(t *testing.T) {
	parts.Lock()
	clear(parts.m)
	parts.Unlock()
	st := State{Policies: policycases.Policies(), Bindings: policycases.Bindings(), Index: policycases.Index(), OperatorNamespace: "seccomp-operator"}
	was := State{Index: st.Index.DeepCopy(), OperatorNamespace: st.OperatorNamespace}
	for i := range st.Policies {
		was.Policies = append(was.Policies, *st.Policies[i].DeepCopy())
	}
	for i := range st.Bindings {
		was.Bindings = append(was.Bindings, *st.Bindings[i].DeepCopy())
	}
	for _, c := range policycases.Cases {
		for _, describe := range []bool{false, true} {
			pod := c.Pod("p")
			podWas := pod.DeepCopy()
			if _, err := Evaluate(Request{Pod: pod, NamespaceLabels: policycases.Namespaces[c.Namespace], Username: "system:admin", Describe: describe}, st); err != nil {
				t.Fatalf("%s: %v", c.Name, err)
			}
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: "d"},
				Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: pod.ObjectMeta, Spec: pod.Spec}}}
			depWas := dep.DeepCopy()
			if _, err := Evaluate(Request{Workload: dep, Resource: "deployments", Namespace: c.Namespace, Username: "system:admin", Describe: describe}, st); err != nil {
				t.Fatalf("%s: template: %v", c.Name, err)
			}
			if !apiequality.Semantic.DeepEqual(pod, podWas) || !apiequality.Semantic.DeepEqual(dep, depWas) {
				t.Fatalf("%s: Evaluate changed the request's object:\n%+v\nwas\n%+v", c.Name, pod, podWas)
			}
		}
	}
	if !apiequality.Semantic.DeepEqual(st, was) {
		t.Errorf("Evaluate changed its State:\n%+v\nwas\n%+v", st, was)
	}
}
