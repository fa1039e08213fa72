//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

// Names of the contract (/tmp/team/CONTRACT.md): the rendered config must
// produce exactly these, whatever kustomize does on the way.
const (
	kustNamespace      = "seccomp-operator"
	kustManager        = "seccomp-operator-manager"
	kustAgent          = "seccomp-operator-agent"
	kustWebhookService = "seccomp-operator-webhook"
	kustWebhookConfig  = "seccomp-operator-validating-webhook"
	kustAgentPolicy    = "seccomp-operator-agent-own-node"
	kustAgentUser      = "system:serviceaccount:" + kustNamespace + ":" + kustAgent
	kustNodeNameExtra  = "authentication.kubernetes.io/node-name"
	kustSeccompDir     = "/var/lib/kubelet/seccomp"
	kustWebhookCertDir = "/tmp/k8s-webhook-server/serving-certs"
	// The text every denial of the agent policy starts with.
	kustPolicyMessage = "the seccomp-operator agent may only write the SeccompNodeStatus named after the node its service-account token is bound to"
)

var kustConfigDir = filepath.Join("..", "..", "config")

// kustRender builds the kustomization in config/<dir> the way
// `kubectl apply -k` would and returns its objects.
func kustRender(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	objs, err := kustBuild(dir)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

// kustBuild is kustRender for callers without a *testing.T (TestMain).
func kustBuild(dir string) ([]*unstructured.Unstructured, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(kustConfigDir, dir))
	if err != nil {
		return nil, fmt.Errorf("kustomize build config/%s: %w", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range m.Resources() {
		// Through JSON, so numbers are int64/float64 as everywhere in
		// unstructured objects (Map() gives int).
		j, err := r.MarshalJSON()
		obj := &unstructured.Unstructured{}
		if err == nil {
			err = obj.UnmarshalJSON(j)
		}
		if err != nil {
			return nil, fmt.Errorf("config/%s: %s: %w", dir, r.CurId(), err)
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// kustFind returns the one rendered object of that kind and name.
func kustFind(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	var found *unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			if found != nil {
				t.Fatalf("two %s %q rendered", kind, name)
			}
			found = o
		}
	}
	if found == nil {
		t.Fatalf("no %s %q rendered", kind, name)
	}
	return found
}

// kustTyped converts a rendered object to its Go type.
func kustTyped[T any](t *testing.T, u *unstructured.Unstructured) *T {
	t.Helper()
	var out T
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, &out, true); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
	return &out
}

func kustEnv(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

// kustEnsureNamespace creates the operator's namespace for real. It stays:
// envtest runs no namespace controller, so a deleted namespace would hang in
// Terminating forever.
func kustEnsureNamespace(t *testing.T, ns *unstructured.Unstructured) {
	t.Helper()
	err := k8s.Create(context.Background(), ns.DeepCopy())
	if apierrors.IsAlreadyExists(err) {
		// Another test made it first, maybe without the labels (Pod
		// Security's among them) that the tests here depend on.
		cur := &unstructured.Unstructured{}
		cur.SetGroupVersionKind(ns.GroupVersionKind())
		if err = k8s.Get(context.Background(), client.ObjectKey{Name: ns.GetName()}, cur); err == nil {
			labels := cur.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			maps.Copy(labels, ns.GetLabels())
			cur.SetLabels(labels)
			err = k8s.Update(context.Background(), cur)
		}
	}
	if err != nil {
		t.Fatalf("create namespace: %v", err)
	}
}

// kustCreate creates obj for real unless it exists already, and deletes it
// at the end of the test when it created it.
func kustCreate(t *testing.T, obj *unstructured.Unstructured) {
	t.Helper()
	obj = obj.DeepCopy()
	if err := k8s.Create(context.Background(), obj); err != nil {
		if apierrors.IsAlreadyExists(err) {
			return
		}
		t.Fatalf("create %s %s: %v", obj.GetKind(), obj.GetName(), err)
	}
	t.Cleanup(func() {
		if err := k8s.Delete(context.Background(), obj); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	})
}

// TestConfigDefault renders config/default, checks the names, namespaces
// and cross-references of the contract and has a real apiserver accept
// every object.
func TestConfigDefault(t *testing.T) {
	if _, err := os.Stat(filepath.Join(kustConfigDir, "webhook", "manifests.yaml")); errors.Is(err, os.ErrNotExist) {
		t.Fatal("config/webhook/manifests.yaml is missing: run `make generate`")
	}
	ctx := context.Background()
	objs := kustRender(t, "default")

	// Scope of every kind from the apiserver, and the contract's prefix on
	// every name.
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		mapping, err := k8s.RESTMapper().RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			t.Errorf("%s %s: the apiserver does not serve %v: %v", o.GetKind(), o.GetName(), gvk, err)
			continue
		}
		namespaced := mapping.Scope.Name() == "namespace"
		switch {
		case namespaced && o.GetNamespace() != kustNamespace:
			t.Errorf("%s %s is in namespace %q, want %q", o.GetKind(), o.GetName(), o.GetNamespace(), kustNamespace)
		case !namespaced && o.GetNamespace() != "":
			t.Errorf("cluster-scoped %s %s has namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		if o.GetKind() != "CustomResourceDefinition" && !strings.HasPrefix(o.GetName(), kustNamespace) {
			t.Errorf("%s %q does not carry the operator's name", o.GetKind(), o.GetName())
		}
	}

	// The contract's objects.
	ns := kustFind(t, objs, "Namespace", kustNamespace)
	kustFind(t, objs, "ServiceAccount", kustManager)
	kustFind(t, objs, "ServiceAccount", kustAgent)
	kustFind(t, objs, "ClusterRole", kustManager)
	kustFind(t, objs, "ClusterRole", kustAgent)
	kustFind(t, objs, "ValidatingAdmissionPolicy", kustAgentPolicy)
	vapb := kustTyped[admissionregistrationv1.ValidatingAdmissionPolicyBinding](t, kustFind(t, objs, "ValidatingAdmissionPolicyBinding", kustAgentPolicy))
	if vapb.Spec.PolicyName != kustAgentPolicy || !slices.Equal(vapb.Spec.ValidationActions, []admissionregistrationv1.ValidationAction{admissionregistrationv1.Deny}) {
		t.Errorf("policy binding: %+v", vapb.Spec)
	}
	for _, crd := range []string{"seccompprofiles.seccomp-operator.dev", "seccompnodestatuses.seccomp-operator.dev"} {
		kustFind(t, objs, "CustomResourceDefinition", crd)
	}

	// Every binding refers to a rendered role and service account.
	for _, o := range objs {
		if o.GetKind() != "ClusterRoleBinding" && o.GetKind() != "RoleBinding" {
			continue
		}
		ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
		refKind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
		kustFind(t, objs, refKind, ref)
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		if len(subjects) == 0 {
			t.Errorf("%s %s has no subjects", o.GetKind(), o.GetName())
		}
		for _, s := range subjects {
			s := s.(map[string]any)
			if s["kind"] != "ServiceAccount" || s["namespace"] != kustNamespace {
				t.Errorf("%s %s: subject %v", o.GetKind(), o.GetName(), s)
				continue
			}
			kustFind(t, objs, "ServiceAccount", s["name"].(string))
		}
	}
	for _, b := range []struct{ kind, name, role, sa string }{
		{"ClusterRoleBinding", kustManager, kustManager, kustManager},
		{"ClusterRoleBinding", kustAgent, kustAgent, kustAgent},
	} {
		o := kustFind(t, objs, b.kind, b.name)
		ref, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		if ref != b.role || len(subjects) != 1 || subjects[0].(map[string]any)["name"] != b.sa {
			t.Errorf("%s %s binds %s to %v", b.kind, b.name, ref, subjects)
		}
	}
	// Leader election: a Role in the namespace for leases, bound to the manager.
	var leaderElection bool
	for _, o := range objs {
		if o.GetKind() != "Role" {
			continue
		}
		role := kustTyped[rbacv1.Role](t, o)
		for _, r := range role.Rules {
			if slices.Contains(r.APIGroups, "coordination.k8s.io") && slices.Contains(r.Resources, "leases") {
				leaderElection = true
			}
		}
	}
	if !leaderElection {
		t.Error("no Role grants leases for leader election")
	}

	// The manager.
	dep := kustTyped[appsv1.Deployment](t, kustFind(t, objs, "Deployment", kustManager))
	podLabels := dep.Spec.Template.Labels
	// Two replicas, so the webhooks (the fallback pod webhook fails closed)
	// survive one pod's replacement; a PodDisruptionBudget keeps one.
	if podLabels["app.kubernetes.io/name"] != kustManager || dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("manager: labels %v replicas %v", podLabels, dep.Spec.Replicas)
	}
	pdb := kustFind(t, objs, "PodDisruptionBudget", kustManager)
	if v, _, _ := unstructured.NestedFieldNoCopy(pdb.Object, "spec", "minAvailable"); v != int64(1) {
		t.Errorf("manager PodDisruptionBudget minAvailable %v, want 1", v)
	}
	if dep.Spec.Template.Spec.ServiceAccountName != kustManager {
		t.Errorf("manager runs as %q", dep.Spec.Template.Spec.ServiceAccountName)
	}
	mc := dep.Spec.Template.Spec.Containers[0]
	if mc.Image != "seccomp-operator/manager:dev" || !slices.Contains(mc.Args, "--leader-elect") {
		t.Errorf("manager container: image %s args %v", mc.Image, mc.Args)
	}
	if e := kustEnv(mc, "POD_NAMESPACE"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "metadata.namespace" {
		t.Errorf("manager: POD_NAMESPACE is %+v", e)
	}
	if mc.LivenessProbe == nil || mc.LivenessProbe.HTTPGet == nil || mc.LivenessProbe.HTTPGet.Path != "/healthz" ||
		mc.ReadinessProbe == nil || mc.ReadinessProbe.HTTPGet == nil || mc.ReadinessProbe.HTTPGet.Path != "/readyz" {
		t.Errorf("manager probes: %+v %+v", mc.LivenessProbe, mc.ReadinessProbe)
	}
	if mem := mc.Resources.Limits.Memory(); mem.IsZero() || mem.Value() < 200<<20 {
		t.Errorf("manager memory limit %v leaves no room for a 200 MiB heap", mem)
	}
	var certMount bool
	for _, m := range mc.VolumeMounts {
		if m.MountPath == kustWebhookCertDir && !m.ReadOnly {
			for _, v := range dep.Spec.Template.Spec.Volumes {
				certMount = certMount || (v.Name == m.Name && v.EmptyDir != nil)
			}
		}
	}
	if !certMount {
		t.Errorf("manager: no writable emptyDir at %s", kustWebhookCertDir)
	}

	// The agent.
	ds := kustTyped[appsv1.DaemonSet](t, kustFind(t, objs, "DaemonSet", kustAgent))
	ps := ds.Spec.Template.Spec
	if ds.Spec.Template.Labels["app.kubernetes.io/name"] != kustAgent || ps.ServiceAccountName != kustAgent {
		t.Errorf("agent: labels %v service account %q", ds.Spec.Template.Labels, ps.ServiceAccountName)
	}
	ac := ps.Containers[0]
	if ac.Image != "seccomp-operator/agent:dev" {
		t.Errorf("agent image %s", ac.Image)
	}
	if e := kustEnv(ac, "NODE_NAME"); e == nil || e.ValueFrom == nil || e.ValueFrom.FieldRef == nil || e.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
		t.Errorf("agent: NODE_NAME is %+v", e)
	}
	var seccompMount bool
	for _, m := range ac.VolumeMounts {
		for _, v := range ps.Volumes {
			if v.Name == m.Name && v.HostPath != nil && v.HostPath.Path == kustSeccompDir {
				if m.MountPath != kustSeccompDir || m.ReadOnly {
					t.Errorf("agent mounts %s at %s (read-only %v), want the same path read-write", kustSeccompDir, m.MountPath, m.ReadOnly)
				}
				if v.HostPath.Type == nil || *v.HostPath.Type != corev1.HostPathDirectoryOrCreate {
					t.Errorf("agent hostPath type %v", v.HostPath.Type)
				}
				seccompMount = true
			}
		}
	}
	if !seccompMount {
		t.Errorf("agent does not mount hostPath %s", kustSeccompDir)
	}
	// --runtime-seccomp-flags=auto reads the runtime binaries where
	// runtimeflags.DefaultBinaries look: the host's /usr, read-only.
	var usrMount bool
	for _, m := range ac.VolumeMounts {
		for _, v := range ps.Volumes {
			if v.Name == m.Name && v.HostPath != nil && v.HostPath.Path == "/usr" {
				if m.MountPath != "/host/usr" || !m.ReadOnly {
					t.Errorf("agent mounts the host's /usr at %s (read-only %v), want /host/usr read-only", m.MountPath, m.ReadOnly)
				}
				usrMount = true
			}
		}
	}
	if !usrMount || !slices.Contains(ac.Args, "--runtime-seccomp-flags=auto") {
		t.Errorf("agent: /usr mounted %v, args %v; want the host's /usr and --runtime-seccomp-flags=auto", usrMount, ac.Args)
	}
	for _, b := range runtimeflags.DefaultBinaries {
		if !strings.HasPrefix(b, "/host/usr/") {
			t.Errorf("runtime binary %s is not under the /host/usr mount", b)
		}
	}
	if sc := ac.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != 0 || sc.Capabilities == nil ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
		sc.Privileged != nil && *sc.Privileged || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
		t.Errorf("agent security context %+v", ac.SecurityContext)
	}
	if !slices.ContainsFunc(ps.Tolerations, func(tol corev1.Toleration) bool {
		return tol.Key == "" && tol.Operator == corev1.TolerationOpExists
	}) {
		t.Errorf("agent does not tolerate every taint: %+v", ps.Tolerations)
	}
	if ru := ds.Spec.UpdateStrategy.RollingUpdate; ds.Spec.UpdateStrategy.Type != appsv1.RollingUpdateDaemonSetStrategyType ||
		ru == nil || ru.MaxUnavailable == nil || *ru.MaxUnavailable != intstr.FromString("10%") {
		t.Errorf("agent update strategy %+v", ds.Spec.UpdateStrategy)
	}

	// The webhook: the configuration calls the rendered Service, which
	// selects the manager's pods and forwards to its webhook port.
	svc := kustTyped[corev1.Service](t, kustFind(t, objs, "Service", kustWebhookService))
	for k, v := range svc.Spec.Selector {
		if podLabels[k] != v {
			t.Errorf("webhook Service selects %s=%s, manager pods have %v", k, v, podLabels)
		}
	}
	if len(svc.Spec.Selector) == 0 || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Port != 443 || svc.Spec.Ports[0].TargetPort != intstr.FromInt32(9443) {
		t.Errorf("webhook Service: selector %v ports %+v", svc.Spec.Selector, svc.Spec.Ports)
	}
	vwc := kustTyped[admissionregistrationv1.ValidatingWebhookConfiguration](t, kustFind(t, objs, "ValidatingWebhookConfiguration", kustWebhookConfig))
	if len(vwc.Webhooks) == 0 {
		t.Error("the webhook configuration has no webhooks")
	}
	for _, w := range vwc.Webhooks {
		s := w.ClientConfig.Service
		if s == nil || s.Name != svc.Name || s.Namespace != svc.Namespace || (s.Port != nil && *s.Port != svc.Spec.Ports[0].Port) {
			t.Errorf("webhook %s calls %+v, the Service is %s/%s:%d", w.Name, s, svc.Namespace, svc.Name, svc.Spec.Ports[0].Port)
		}
	}
	if t.Failed() {
		return
	}

	// The apiserver accepts everything. The namespace and the service
	// accounts (the pods below need them) are created for real; the rest is
	// a server-side dry run: a real webhook configuration would send every
	// profile write to a Service with no endpoints and break other tests,
	// and the admission policy gets its own test below.
	kustEnsureNamespace(t, ns)
	for _, o := range objs {
		switch o.GetKind() {
		case "Namespace":
		case "CustomResourceDefinition":
			// The harness installed them from config/crd/bases.
			if err := k8s.Get(ctx, client.ObjectKey{Name: o.GetName()}, o.DeepCopy()); err != nil {
				t.Errorf("CRD %s: %v", o.GetName(), err)
			}
		case "ServiceAccount":
			kustCreate(t, o)
		default:
			err := k8s.Create(ctx, o.DeepCopy(), client.DryRunAll)
			if apierrors.IsAlreadyExists(err) {
				// The harness installed config/rbac to run the manager
				// with it: the apiserver validates an update instead.
				live := o.DeepCopy()
				if err = k8s.Get(ctx, client.ObjectKeyFromObject(o), live); err == nil {
					update := o.DeepCopy()
					update.SetResourceVersion(live.GetResourceVersion())
					err = k8s.Update(ctx, update, client.DryRunAll)
				}
			}
			if err != nil {
				t.Errorf("dry-run create %s %s: %v", o.GetKind(), o.GetName(), err)
			}
		}
	}

	// The pods the workloads would create are admitted too, without a
	// single warning (kubectl apply prints them to whoever installs the
	// operator): Pod Security, whose level the namespace sets to what the
	// agent's hostPath needs, and the agent's system-node-critical priority
	// class outside kube-system. The manager must also meet "restricted",
	// which its own namespace no longer reports, so it is tried once more in
	// a namespace that enforces and warns at that level.
	restricted := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "config-restricted", Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/warn": "restricted"}}}
	if err := k8s.Create(ctx, restricted); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), restricted) })
	restrictedSA := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: dep.Spec.Template.Spec.ServiceAccountName, Namespace: restricted.Name}}
	if err := k8s.Create(ctx, restrictedSA); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	wc, warnings := warningClient(t)
	for _, p := range []struct {
		name, namespace string
		spec            corev1.PodSpec
		wantPriorityOf  string
	}{
		{kustManager, kustNamespace, dep.Spec.Template.Spec, ""},
		{kustAgent, kustNamespace, ds.Spec.Template.Spec, "system-node-critical"},
		{kustManager, restricted.Name, dep.Spec.Template.Spec, ""},
	} {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: p.name + "-dry-run", Namespace: p.namespace},
			Spec:       *p.spec.DeepCopy(),
		}
		pod.Spec.NodeName = "node-a"
		if err := wc.Create(ctx, pod, client.DryRunAll); err != nil {
			t.Errorf("dry-run pod of %s in %s: %v", p.name, p.namespace, err)
			continue
		}
		if w := warnings.take(); len(w) > 0 {
			t.Errorf("pod of %s in %s: warnings %q", p.name, p.namespace, w)
		}
		if pod.Spec.PriorityClassName != p.wantPriorityOf {
			t.Errorf("pod of %s: priority class %q", p.name, pod.Spec.PriorityClassName)
		}
		if p.wantPriorityOf != "" && (pod.Spec.Priority == nil || *pod.Spec.Priority < 2000000000) {
			t.Errorf("pod of %s: priority %v", p.name, pod.Spec.Priority)
		}
	}
}

// TestAgentAdmissionPolicy has the real apiserver enforce the agent's
// ValidatingAdmissionPolicy from config/agent: the agent's service account
// may write only the SeccompNodeStatus of the node its token is bound to.
func TestAgentAdmissionPolicy(t *testing.T) {
	ctx := context.Background()
	objs := kustRender(t, "agent")
	// The node names are this test's own: nodestatus_test.go uses node-a
	// and node-b, and the manager aggregates every SeccompNodeStatus.
	const nodeA, nodeB, nodeC = "config-node-a", "config-node-b", "config-node-c"

	// Real RBAC for the agent (so requests reach admission), then the policy.
	kustEnsureNamespace(t, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": kustNamespace},
	}})
	kustCreate(t, kustFind(t, objs, "ClusterRole", kustAgent))
	kustCreate(t, kustFind(t, objs, "ClusterRoleBinding", kustAgent))
	policy := kustFind(t, objs, "ValidatingAdmissionPolicy", kustAgentPolicy)
	if policy.GetNamespace() != "" {
		t.Fatalf("the policy has namespace %q", policy.GetNamespace())
	}
	kustCreate(t, policy)
	kustCreate(t, kustFind(t, objs, "ValidatingAdmissionPolicyBinding", kustAgentPolicy))
	t.Cleanup(func() {
		for _, n := range []string{nodeA, nodeB, nodeC} {
			_ = k8s.Delete(context.Background(), &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: n}})
		}
	})

	// The policy's status.typeChecking is written by kube-controller-
	// manager, which envtest does not run; the probe below waits for the
	// policy to act instead (a policy that does not compile denies
	// everything with a compile error, which the probe would not accept).

	as := func(extra map[string][]string) client.Client {
		c := rest.CopyConfig(cfg)
		c.Impersonate = rest.ImpersonationConfig{
			UserName: kustAgentUser,
			Groups:   []string{"system:serviceaccounts", "system:serviceaccounts:" + kustNamespace, "system:authenticated"},
			Extra:    extra,
		}
		cl, err := client.New(c, client.Options{Scheme: k8s.Scheme()})
		if err != nil {
			t.Fatal(err)
		}
		return cl
	}
	agentA := as(map[string][]string{kustNodeNameExtra: {nodeA}})
	noNode := as(nil)
	status := func(name string) *v1alpha1.SeccompNodeStatus {
		return &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: name}}
	}
	denied := func(what string, err error, want string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: allowed, want denied by the policy", what)
			return
		}
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), kustAgentPolicy) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a denial by %s saying %q", what, err, kustAgentPolicy, want)
		}
	}

	// Bindings take effect asynchronously: probe until the agent's write
	// to a foreign node is denied (removing what got through meanwhile).
	eventuallyWithin(t, 30*time.Second, "the policy denies", func() bool {
		err := agentA.Create(ctx, status(nodeB))
		if err == nil {
			if err := k8s.Delete(ctx, status(nodeB)); err != nil {
				t.Fatal(err)
			}
			return false
		}
		return apierrors.IsForbidden(err) && strings.Contains(err.Error(), kustPolicyMessage)
	})

	// The agent of node A writes its own node's state ...
	own := status(nodeA)
	if err := agentA.Create(ctx, own); err != nil {
		t.Fatalf("agent of %s creates its own state: %v", nodeA, err)
	}
	own.Status.Profiles = []v1alpha1.NodeProfileState{{Name: "p", State: v1alpha1.InstallStateInstalled}}
	if err := agentA.Update(ctx, own); err != nil {
		t.Fatalf("agent of %s updates its own state: %v", nodeA, err)
	}
	// ... and nobody else's.
	denied("agent of "+nodeA+" creates "+nodeB, agentA.Create(ctx, status(nodeB)),
		fmt.Sprintf("bound to (%s), not %s", nodeA, nodeB))
	// A token bound to no node writes nothing, not even a state of its name.
	denied("agent without node creates "+nodeC, noNode.Create(ctx, status(nodeC)), "bound to no node")
	own.Status.Profiles = nil
	denied("agent without node updates "+nodeA, noNode.Update(ctx, own.DeepCopy()), "bound to no node")

	// Other users are not affected: the admin writes node B's state, which
	// the agent of node A still cannot touch.
	other := status(nodeB)
	if err := k8s.Create(ctx, other); err != nil {
		t.Fatalf("admin creates %s: %v", nodeB, err)
	}
	other.Status.Profiles = []v1alpha1.NodeProfileState{{Name: "p", State: v1alpha1.InstallStateInstalled}}
	denied("agent of "+nodeA+" updates "+nodeB, agentA.Update(ctx, other.DeepCopy()), "not "+nodeB)
	if err := k8s.Update(ctx, other); err != nil {
		t.Errorf("admin updates %s: %v", nodeB, err)
	}
	for _, n := range []string{nodeA, nodeB} {
		if err := k8s.Delete(ctx, status(n)); err != nil {
			t.Errorf("admin deletes %s: %v", n, err)
		}
	}
}

// make up deploys config/default through hack/up, which tells the agent the
// one runc binary containerd runs there (hack/up.sh's RUNC, its BinaryName):
// the default list would also find Debian's /usr/sbin/runc, which refuses
// seccomp flags, and the weakest answer would win. Otherwise the objects are
// config/default's.
func TestUpOverlayNamesMakeUpsRunc(t *testing.T) {
	script, err := os.ReadFile(filepath.Join(kustConfigDir, "..", "hack", "up.sh"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^RUNC=(\S+)$`).FindSubmatch(script)
	if m == nil {
		t.Fatal("hack/up.sh sets no RUNC=")
	}
	want := "--runtime-binaries=/host" + string(m[1])
	def, up := kustRender(t, "default"), kustRender(t, "../hack/up")
	if len(def) != len(up) {
		t.Fatalf("hack/up renders %d objects, config/default %d", len(up), len(def))
	}
	var found bool
	for i := range up {
		if up[i].GetKind() != "DaemonSet" {
			if !reflect.DeepEqual(up[i].Object, def[i].Object) {
				t.Errorf("%s %s differs from config/default's", up[i].GetKind(), up[i].GetName())
			}
			continue
		}
		args, _, _ := unstructured.NestedSlice(up[i].Object, "spec", "template", "spec", "containers")
		c, _ := args[0].(map[string]any)
		a, _ := c["args"].([]any)
		for _, x := range a {
			if x == want {
				found = true
			}
		}
	}
	if !found {
		t.Errorf("the agent in hack/up lacks %s", want)
	}
}
