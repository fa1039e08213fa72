//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/cli"
)

// seccompctl audit --unconfined against the real apiserver: the node
// states the agents write, joined with the running pods, exemptions from
// the flag and from a SeccompPolicy, and the exit status CI relies on.
func TestSeccompctlAuditUnconfined(t *testing.T) {
	ctx := context.Background()
	kc := adminKubeconfig(t)
	policyNamespace(t, "unconf-a", nil)
	policyNamespace(t, "unconf-b", map[string]string{"unconf-test": "b"})
	// The governing policy of unconf-b exempts it.
	createPolicy(t, &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "unconf-b"}, Spec: v1alpha1.SeccompPolicySpec{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"unconf-test": "b"}},
		AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
		Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"unconf-b"}},
	}})

	// Pods as the kubelet leaves them: scheduled, their container running.
	mkPod := func(ns, name, node string, sc *corev1.SecurityContext) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: corev1.PodSpec{
			NodeName:   node,
			Containers: []corev1.Container{{Name: "app", Image: "nginx", SecurityContext: sc}},
		}}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, p) })
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "nginx", ContainerID: "containerd://" + ns + "-" + name,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		if err := k8s.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	profile := func(typ corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: typ}}
	}
	priv := profile(corev1.SeccompProfileTypeRuntimeDefault)
	priv.Privileged = ptr.To(true)
	mkPod("unconf-a", "priv", "unconf-node-1", priv)
	mkPod("unconf-a", "unc", "unconf-node-1", profile(corev1.SeccompProfileTypeUnconfined))
	mkPod("unconf-a", "web", "unconf-node-1", &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
		Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/webapp.json")}})
	mkPod("unconf-a", "fresh", "unconf-node-2", profile(corev1.SeccompProfileTypeRuntimeDefault))
	mkPod("unconf-b", "unc", "unconf-node-1", profile(corev1.SeccompProfileTypeUnconfined))

	state := func(ns, pod, declared string, mode v1alpha1.SeccompMode, filters int32) v1alpha1.ContainerSeccompState {
		return v1alpha1.ContainerSeccompState{Namespace: ns, Pod: pod, Container: "app", ContainerID: "containerd://" + ns + "-" + pod,
			Declared: declared, Mode: mode, Filters: filters}
	}
	privState := state("unconf-a", "priv", "RuntimeDefault", v1alpha1.SeccompModeDisabled, 0)
	privState.Privileged = true
	webState := state("unconf-a", "web", "Localhost/operator/webapp.json", v1alpha1.SeccompModeFilter, 1)
	webState.Profile = "webapp"
	node := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "unconf-node-1"}, Status: v1alpha1.NodeState{
		Containers: []v1alpha1.ContainerSeccompState{
			privState,
			state("unconf-a", "unc", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
			webState,
			state("unconf-b", "unc", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		}}}
	if err := k8s.Create(ctx, node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, node) })

	audit := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Execute(append([]string{"audit", "--unconfined", "--kubeconfig", kc}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	rows := func(out string) map[string]string {
		m := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) >= 6 && strings.HasPrefix(f[1], "unconf-") {
				m[f[1]+"/"+f[2]] = f[0] + " " + strings.Join(f[4:], " ")
			}
		}
		return m
	}

	code, out, errOut := audit("-n", "unconf-a")
	if code != 1 || !strings.Contains(errOut, "2 containers run unconfined outside the exempt namespaces") {
		t.Fatalf("-n unconf-a: exit %d, want 1\n%s%s", code, out, errOut)
	}
	for k, want := range map[string]string{
		"unconf-a/priv":  "unconf-node-1 RuntimeDefault Disabled declares a profile, runs without a filter: privileged",
		"unconf-a/unc":   "unconf-node-1 Unconfined Disabled",
		"unconf-a/web":   "unconf-node-1 Localhost/operator/webapp.json Filter (1 filter)",
		"unconf-a/fresh": "unconf-node-2 RuntimeDefault not reported",
	} {
		if got := rows(out)[k]; got != want {
			t.Errorf("-n unconf-a: %s = %q, want %q\n%s", k, got, want, out)
		}
	}
	if _, ok := rows(out)["unconf-b/unc"]; ok {
		t.Errorf("-n unconf-a shows unconf-b:\n%s", out)
	}

	// The policy governing unconf-b exempts it.
	if code, out, errOut := audit("-n", "unconf-b"); code != 0 || rows(out)["unconf-b/unc"] != "unconf-node-1 Unconfined Disabled (exempt)" {
		t.Errorf("-n unconf-b: exit %d, want 0\n%s%s", code, out, errOut)
	}

	// The whole cluster fails on unconf-a's, not on unconf-b's.
	code, out, errOut = audit()
	if code != 1 || !strings.Contains(errOut, "unconf-a/priv/app") || !strings.Contains(errOut, "unconf-a/unc/app") || strings.Contains(errOut, "unconf-b/") {
		t.Errorf("whole cluster: exit %d, want 1 naming unconf-a's containers only\n%s%s", code, out, errOut)
	}
	if got := rows(out)["unconf-b/unc"]; got != "unconf-node-1 Unconfined Disabled (exempt)" {
		t.Errorf("whole cluster: unconf-b/unc = %q\n%s", got, out)
	}

	code, out, errOut = audit("-n", "unconf-a", "--exempt-namespaces", "unconf-a", "-o", "json")
	if code != 0 {
		t.Fatalf("exempt unconf-a: exit %d, want 0\n%s%s", code, out, errOut)
	}
	var rep struct {
		Containers []struct {
			Node, Namespace, Pod, Container, Declared, Mode, Mismatch string
			Privileged, Exempt                                        bool
		} `json:"containers"`
		Unconfined, UnconfinedExempt, Mismatches, NotReported int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if len(rep.Containers) != 4 || rep.Unconfined != 0 || rep.UnconfinedExempt != 2 || rep.Mismatches != 1 || rep.NotReported != 1 {
		t.Errorf("-o json: %+v", rep)
	}
	t.Logf("\n%s", out)
}
