//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/cli"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
)

// seccompctl audit --policy, before a policy is applied: which of the pods
// already running it would refuse or change.
func TestSeccompctlAuditPolicy(t *testing.T) {
	ctx := context.Background()
	if len(env.KubeConfig) == 0 {
		t.Fatal("envtest gave no kubeconfig")
	}
	kc := adminKubeconfig(t)
	policyNamespace(t, "audit-team", map[string]string{"audit-test": "yes"})
	mk := func(name string, mutate func(*corev1.Pod)) {
		p := policycases.RestrictedPod("audit-team", name)
		if mutate != nil {
			mutate(p)
		}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, p) })
	}
	mk("plain", nil)
	mk("unconfined", func(p *corev1.Pod) {
		p.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	})
	mk("fine", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	})
	mk("missing", func(p *corev1.Pod) {
		p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/audit-nowhere.json")}
	})
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(`apiVersion: seccomp-operator.dev/v1alpha1
kind: SeccompPolicy
metadata:
  name: audit-candidate
spec:
  namespaceSelector:
    matchLabels: {audit-test: "yes"}
  defaultProfile: {type: RuntimeDefault}
  allowedProfiles: [RuntimeDefault, "audit-*"]
  mode: enforce
`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The manager publishes the profile index once it has seen profiles.
	eventually(t, "the profile index", func() bool {
		return k8s.Get(ctx, client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &v1alpha1.SeccompProfileIndex{}) == nil
	})
	var out, errOut bytes.Buffer
	code := cli.Execute([]string{"audit", "--policy", "--file", file, "--kubeconfig", kc}, strings.NewReader(""), &out, &errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (pods would be refused)\n%s%s", code, out.String(), errOut.String())
	}
	rows := map[string]string{}
	for _, l := range strings.Split(out.String(), "\n") {
		if f := strings.Fields(l); len(f) >= 4 && f[0] == "audit-team" {
			rows[f[1]] = strings.Join(f[2:], " ")
		}
	}
	for pod, want := range map[string]string{
		"plain":      "audit-candidate changed default RuntimeDefault",
		"unconfined": "audit-candidate refused SeccompPolicy audit-candidate: seccomp profile not allowed for container app: Unconfined",
		"fine":       "audit-candidate ok",
		"missing":    "audit-candidate refused SeccompPolicy audit-candidate: container app: localhost/operator/audit-nowhere.json: no SeccompProfile audit-nowhere exists",
	} {
		verdict, msg, _ := strings.Cut(want, " SeccompPolicy ")
		if !strings.HasPrefix(rows[pod], verdict) || msg != "" && !strings.Contains(rows[pod], "SeccompPolicy "+msg) {
			t.Errorf("pod %s: %q, want %q…", pod, rows[pod], want)
		}
	}
	if !strings.Contains(out.String(), "4 pods governed by a policy or binding, 2 would be refused") {
		t.Errorf("summary missing:\n%s", out.String())
	}
	t.Logf("\n%s", out.String())
}
