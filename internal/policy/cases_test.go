package policy

import (
	"fmt"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
