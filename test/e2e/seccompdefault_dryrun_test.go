//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/cli"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// dryRunNS is the namespace TestSeccompDefaultDryRun dry-runs.
const dryRunNS = "seccomp-e2e-dryrun"

// TestSeccompDefaultDryRun: the agent installs the node's runtime default
// as the dry-run profile; a SeccompPolicy in audit mode defaults a
// namespace to it; a pod there that makes keyctl and add_key (which
// containerd's default refuses) is not refused (the calls succeed) while
// the kernel logs them; the agent reports them in its node state, and
// audit --seccomp-default says the pod breaks on them, from the dry run.
// A second pod (io_uring_setup, which containerd 1.6.20 allows) is safe
// once the dry run watched it for --min-soak. Where a recording of names
// can only say "depends on arguments", the dry run knows the values:
// personality(ADDR_NO_RANDOMIZE) breaks, personality(query) is safe.
func TestSeccompDefaultDryRun(t *testing.T) {
	ctx := context.Background()
	file := nodepath.Abs(kubeletRoot, nodepath.DryRunPath)
	eventually(t, 60*time.Second, "the dry-run profile on the node", func() bool { return nodeFile(file) })
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(b)
	if err != nil || p.DefaultAction != profile.ActLog {
		t.Fatalf("dry-run profile: %v, default action %v", err, p)
	}
	var sns v1alpha1.SeccompNodeStatus
	if err := k8s.Get(ctx, client.ObjectKey{Name: node}, &sns); err != nil {
		t.Fatal(err)
	}
	var nodeObj corev1.Node
	if err := k8s.Get(ctx, client.ObjectKey{Name: node}, &nodeObj); err != nil {
		t.Fatal(err)
	}
	t.Logf("node runs %s; its state: %q", nodeObj.Status.NodeInfo.ContainerRuntimeVersion, sns.Status.Runtime.DryRunProfile)

	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: dryRunNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline", "seccomp-e2e-dryrun": "true"}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pol := &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "e2e-dryrun"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-e2e-dryrun": "true"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", LocalhostProfile: nodepath.DryRunPath},
			Mode:              v1alpha1.PolicyModeAudit,
		},
	}
	if err := k8s.Create(ctx, pol); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), pol)) })
	eventually(t, 30*time.Second, "policy Ready", func() bool {
		return k8s.Get(ctx, client.ObjectKeyFromObject(pol), pol) == nil &&
			meta.IsStatusConditionTrue(pol.Status.Conditions, v1alpha1.ConditionReady)
	})
	probe := func(name string, calls ...string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: dryRunNS, Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](0),
				Containers: []corev1.Container{{Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent,
					Args: append([]string{"calls"}, calls...)}},
			},
		}
	}
	eventually(t, 30*time.Second, "the dry-run default applied at admission", func() bool {
		p := probe("admission")
		return k8s.Create(ctx, p, client.DryRunAll) == nil && p.Spec.SecurityContext != nil && p.Spec.SecurityContext.SeccompProfile != nil
	})

	pods := []*corev1.Pod{probe("keys", "keys"), probe("uring", "io-uring"),
		probe("persona-norand", "personality=0x40000"), probe("persona-query", "personality=0xffffffff")}
	for _, p := range pods {
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), p, client.GracePeriodSeconds(0)) })
		if sp := p.Spec.SecurityContext.SeccompProfile; sp == nil || sp.Type != corev1.SeccompProfileTypeLocalhost || *sp.LocalhostProfile != nodepath.DryRunPath {
			t.Fatalf("%s admitted with %+v", p.Name, sp)
		}
	}
	// The calls succeed: the dry run refuses nothing.
	for _, p := range pods {
		o := observeIn(t, dryRunNS, p.Name)
		if len(o.failing()) != 0 || o.seccomp != "2" {
			t.Errorf("%s under the dry run: %s; want every call ok under a filter", p.Name, o)
		}
		t.Logf("%s: %s", p.Name, o)
	}

	// The enricher writes on its scan: wait for the report to show it.
	var rows map[string]seccompdefault.Row
	var code int
	eventually(t, 120*time.Second, "audit --seccomp-default: keys breaks from the dry run", func() bool {
		rows, _, code = auditDryRun(t, "--min-soak", "20s")
		r, ok := rows["keys"]
		return ok && r.Verdict == seccompdefault.Breaks && rows["uring"].Verdict == seccompdefault.Safe &&
			rows["persona-norand"].Verdict == seccompdefault.Breaks && rows["persona-query"].Verdict == seccompdefault.Safe
	})
	r := rows["keys"]
	var refused []string
	for _, f := range r.Refused {
		if f.Effect == seccompdefault.EffectBreaks {
			refused = append(refused, f.Syscall+" "+f.ErrnoName)
		}
	}
	if strings.Join(refused, ",") != "add_key EPERM,keyctl EPERM" || len(r.Evidence) != 1 || r.Evidence[0].Kind != seccompdefault.EvidenceDryRun || code != 1 {
		t.Errorf("keys: refused %v, evidence %+v, exit %d; want add_key, keyctl EPERM from the dry run, exit 1", refused, r.Evidence, code)
	}
	u := rows["uring"]
	if len(u.Evidence) != 1 || u.Evidence[0].Kind != seccompdefault.EvidenceDryRun {
		t.Errorf("uring: %+v", u)
	}
	t.Logf("keys: %s %v (%s); uring: %s (%s, notes %v)", r.Verdict, refused, r.Evidence[0].Source, u.Verdict, u.Evidence[0].Source, u.Refused)
	if pr := rows["persona-norand"]; len(pr.Refused) != 1 || pr.Refused[0].Syscall != "personality" || pr.Refused[0].Effect != seccompdefault.EffectBreaks {
		t.Errorf("persona-norand: %+v", pr.Refused)
	}

	var human, errOut bytes.Buffer
	cli.Execute([]string{"audit", "--seccomp-default", "--kubeconfig", kubeconfig, "-n", dryRunNS, "--min-soak", "20s"}, strings.NewReader(""), &human, &errOut)
	t.Logf("\n%s%s", human.String(), errOut.String())
}

// auditDryRun runs audit --seccomp-default -n dryRunNS -o json with args.
func auditDryRun(t *testing.T, args ...string) (map[string]seccompdefault.Row, string, int) {
	t.Helper()
	containers, out, code := auditSeccompDefault(t, dryRunNS, args...)
	rows := map[string]seccompdefault.Row{}
	for _, r := range containers {
		rows[r.Pod] = r
	}
	return rows, out, code
}

// auditSeccompDefault runs audit --seccomp-default -n ns -o json with
// args and returns its rows, its output and its exit code.
func auditSeccompDefault(t *testing.T, ns string, args ...string) ([]seccompdefault.Row, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := cli.Execute(append([]string{"audit", "--seccomp-default", "--kubeconfig", kubeconfig, "-n", ns, "-o", "json"}, args...),
		strings.NewReader(""), &out, &errOut)
	var rep struct{ Containers []seccompdefault.Row }
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("audit --seccomp-default: exit %d: %v\n%s%s", code, err, out.String(), errOut.String())
	}
	return rep.Containers, out.String(), code
}
