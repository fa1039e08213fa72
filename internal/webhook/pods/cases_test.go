package pods

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	jsonpatch "github.com/evanphx/json-patch/v5"
	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// The table of admission cases (internal/policy/policycases) through the
// fallback webhook, as the apiserver calls it: the bindings' webhook,
// then each policy's, each given the pod as the one before left it; and
// the workloads webhook on a Deployment with the case's pod as template.
func TestPolicyCaseTableFallback(t *testing.T) {
	scheme := testScheme()
	var objs []client.Object
	for ns, labels := range policycases.Namespaces {
		l := map[string]string{corev1.LabelMetadataName: ns}
		for k, v := range labels {
			l[k] = v
		}
		objs = append(objs, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: l}})
	}
	policies := policycases.Policies()
	for i := range policies {
		objs = append(objs, &policies[i])
	}
	for _, b := range policycases.Bindings() {
		objs = append(objs, b.DeepCopy())
	}
	objs = append(objs, policycases.Index())
	h := &Handler{Reader: fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build(), OperatorNamespace: "seccomp-operator"}
	// The scopes in the order the configuration lists its webhooks.
	scopes := []Scope{{Bindings: true}}
	for _, p := range policies {
		scopes = append(scopes, Scope{Policy: p.Name, Closed: p.Spec.Mode == v1alpha1.PolicyModeEnforce})
	}
	review := func(path, kind, resource, ns string, obj any) admission.Response {
		group := ""
		if kind == "Deployment" {
			group = "apps"
		}
		return post(t, h, path, admissionv1.AdmissionRequest{
			UID: "1", Kind: metav1.GroupVersionKind{Group: group, Version: "v1", Kind: kind}, Namespace: ns, Operation: admissionv1.Create,
			Resource: metav1.GroupVersionResource{Group: group, Version: "v1", Resource: resource}, UserInfo: authUser,
		}, obj)
	}
	for _, c := range policycases.Cases {
		pod := c.Pod("p")
		var got policycases.Want
		var said []string
		for _, s := range scopes {
			// The apiserver calls a policy's webhook for the namespaces
			// its selector selects.
			if s.Policy != "" && !selects(t, policies, s.Policy, c.Namespace) {
				continue
			}
			resp := review(s.Path(PodsPath), "Pod", "pods", c.Namespace, pod)
			if !resp.Allowed {
				got.Refused, said = true, []string{resp.Result.Message}
				break
			}
			said = append(said, resp.Warnings...)
			pod = patched(t, pod, resp)
		}
		got.Messages = strings.Join(said, "; ")
		if !got.Refused {
			got.Profiles = policycases.Profiles(pod)
		}
		var tsaid []string
		// Warnings are in the order the checks run in-process: the
		// policies', then the bindings'.
		for _, s := range slices.Concat(scopes[1:], scopes[:1]) {
			if s.Policy != "" && !selects(t, policies, s.Policy, c.Namespace) {
				continue
			}
			p := c.Pod("p")
			dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: c.Namespace, Name: "d"},
				Spec: appsv1.DeploymentSpec{Template: corev1.PodTemplateSpec{ObjectMeta: p.ObjectMeta, Spec: p.Spec}}}
			resp := review(s.Path(WorkloadsPath), "Deployment", "deployments", c.Namespace, dep)
			tsaid = append(tsaid, resp.Warnings...)
		}
		got.Template = strings.Join(tsaid, "; ")
		want := c.Want
		if got.Refused && strings.Contains(want.Messages, got.Messages) {
			// The apiserver stops at the first webhook that refuses, and
			// says its message alone.
			want.Messages = got.Messages
		}
		if got != want {
			t.Errorf("%s:\n got  %#v\n want %#v", c.Name, got, c.Want)
		}
	}
}

var authUser = authenticationUser()

// selects reports whether the webhook of policy is called for namespace
// ns: its namespaceSelector (policy.NamespaceSelector) selects it.
func selects(t *testing.T, policies []v1alpha1.SeccompPolicy, name, ns string) bool {
	t.Helper()
	for i := range policies {
		if policies[i].Name != name {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(policy.NamespaceSelector(&policies[i], "seccomp-operator"))
		if err != nil {
			t.Fatal(err)
		}
		l := map[string]string{corev1.LabelMetadataName: ns}
		for k, v := range policycases.Namespaces[ns] {
			l[k] = v
		}
		return sel.Matches(labelsSet(l))
	}
	return false
}

// patched applies a response's patch to pod.
func patched(t *testing.T, pod *corev1.Pod, resp admission.Response) *corev1.Pod {
	t.Helper()
	if len(resp.Patches) == 0 {
		return pod
	}
	raw, _ := json.Marshal(pod)
	ops, _ := json.Marshal(resp.Patches)
	p, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		t.Fatal(err)
	}
	if raw, err = p.Apply(raw); err != nil {
		t.Fatal(err)
	}
	out := &corev1.Pod{}
	if err := json.Unmarshal(raw, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func authenticationUser() authenticationv1.UserInfo {
	return authenticationv1.UserInfo{Username: "system:admin"}
}

func labelsSet(l map[string]string) labels.Set { return labels.Set(l) }
