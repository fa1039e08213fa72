//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/cli"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// The dry run against the real apiserver: a SeccompPolicy in audit mode
// defaulting a namespace to the dry-run profile gets its pods admitted
// with the path written (admission's installed check does not take it for
// a SeccompProfile's file); the node state the agent writes for them
// passes the CRD's schema; seccompctl audit --seccomp-default judges what
// they logged.
func TestSeccompctlAuditSeccompDefaultDryRun(t *testing.T) {
	ctx := context.Background()
	kc := adminKubeconfig(t)
	const ns = "sdry-a"
	policyNamespace(t, ns, map[string]string{"seccomp-dry-run": "true"})
	createPolicy(t, &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "dry-run-default"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"seccomp-dry-run": "true"}},
			Mode:              v1alpha1.PolicyModeAudit,
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "Localhost", LocalhostProfile: nodepath.DryRunPath},
		},
	})
	probe := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "probe"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
	admittedWithin(t, "the dry-run default", probe, func(p *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(p) == "Localhost:"+nodepath.DryRunPath
	})

	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "sdry-node-1"}}
	if err := k8s.Create(ctx, n); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, n) })
	n.Status.NodeInfo = corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.6.20", Architecture: "amd64", KernelVersion: "6.1.0-18-amd64", OperatingSystem: "linux"}
	if err := k8s.Status().Update(ctx, n); err != nil {
		t.Fatal(err)
	}
	mkPod := func(name string, caps []corev1.Capability) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": name}},
			Spec: corev1.PodSpec{NodeName: n.Name, Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
		if caps != nil {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: caps}}
		}
		if err := k8s.Create(ctx, p); err != nil { // the policy writes the dry-run profile
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, p) })
		if podProfile(p) != "Localhost:"+nodepath.DryRunPath {
			t.Fatalf("%s admitted with %q", name, podProfile(p))
		}
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "busybox", ContainerID: "containerd://" + name,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		if err := k8s.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	mkPod("userns", nil)
	mkPod("quiet", nil)
	mkPod("young", nil)
	mkPod("mounter", []corev1.Capability{"SYS_ADMIN"})

	declared := "Localhost/" + nodepath.DryRunPath
	since := func(d time.Duration) metav1.Time { return metav1.NewTime(time.Now().Add(-d).Truncate(time.Second)) }
	state := func(pod string, from time.Duration, logged ...string) v1alpha1.ContainerSeccompState {
		st := v1alpha1.ContainerSeccompState{Namespace: ns, Pod: pod, Container: "app", ContainerID: "containerd://" + pod, Declared: declared,
			Mode: v1alpha1.SeccompModeFilter, Filters: 1, DryRun: &v1alpha1.ContainerDryRun{Since: since(from)}}
		if len(logged) > 0 {
			st.DryRun.Logged = []v1alpha1.DryRunSyscalls{{ABI: "x86_64", Syscalls: logged}}
		}
		return st
	}
	nodeState := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: n.Name}, Status: v1alpha1.NodeState{
		Runtime: &v1alpha1.NodeRuntime{SeccompFlags: "Supported", DenialsLogged: true,
			DryRunProfile: nodepath.DryRunPath + ": containerd@v1.6.20, amd64, kernel 6.1.0-18-amd64, no capabilities"},
		Records: &v1alpha1.NodeRecords{Source: "audit-netlink", Reading: true},
		Containers: []v1alpha1.ContainerSeccompState{
			state("mounter", 48*time.Hour, "mount", "umount2"),
			state("quiet", 48*time.Hour),
			state("userns", time.Hour, "unshare"),
			state("young", 10*time.Minute),
		}}}
	if err := k8s.Create(ctx, nodeState); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, nodeState) })

	audit := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Execute(append([]string{"audit", "--seccomp-default", "--kubeconfig", kc, "-n", ns}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	type row struct {
		Pod, Declared, Verdict, Reason string
		NodeDefaultApplies             bool
		Refused                        []struct{ Syscall, Effect string }
		Evidence                       []struct{ Kind, Soaked, Incomplete string }
		Fix                            *struct{ Kind string }
	}
	decode := func(out string) map[string]row {
		var rep struct {
			Containers     []row
			DryRunProfiles map[string]string
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("-o json: %v\n%s", err, out)
		}
		if !strings.Contains(rep.DryRunProfiles[n.Name], "containerd@v1.6.20") {
			t.Errorf("dryRunProfiles %v", rep.DryRunProfiles)
		}
		m := map[string]row{}
		for _, r := range rep.Containers {
			m[r.Pod] = r
		}
		return m
	}
	check := func(rows map[string]row, pod, verdict, refused string) {
		t.Helper()
		r, ok := rows[pod]
		if !ok {
			t.Errorf("%s not listed", pod)
			return
		}
		var s []string
		for _, f := range r.Refused {
			s = append(s, f.Syscall+":"+f.Effect)
		}
		if r.Verdict != verdict || strings.Join(s, ",") != refused || len(r.Evidence) != 1 || r.Evidence[0].Kind != "dryrun" || !r.NodeDefaultApplies {
			t.Errorf("%s: %s refused %v (%s) evidence %+v; want %s refused %s from the dry run", pod, r.Verdict, s, r.Reason, r.Evidence, verdict, refused)
		}
	}

	code, out, errOut := audit("-o", "json")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (userns breaks)\n%s%s", code, out, errOut)
	}
	rows := decode(out)
	check(rows, "userns", "breaks", "unshare:breaks")
	check(rows, "quiet", "safe", "")
	check(rows, "young", "unknown", "")
	// Logged without capabilities, allowed with the container's own.
	check(rows, "mounter", "safe", "")
	if r := rows["young"]; !strings.Contains(r.Reason, "of the 24h0m0s asked") {
		t.Errorf("young: reason %q", r.Reason)
	}

	// A shorter soak asked for, and Docker's default (which lets mount
	// through with CAP_SYS_ADMIN too).
	code, out, errOut = audit("-o", "json", "--min-soak", "5m", "--runtime", "docker@v0.3.0")
	rows = decode(out)
	check(rows, "young", "safe", "")
	check(rows, "mounter", "safe", "")
	check(rows, "userns", "breaks", "unshare:breaks")
	if code != 1 {
		t.Errorf("exit %d\n%s", code, errOut)
	}

	code, out, errOut = audit()
	for _, want := range []string{
		"node sdry-node-1: dry-run profile operator-dryrun/runtime-default.json: containerd@v1.6.20",
		"breaks on unshare (ERRNO(EPERM))",
		"dryrun (1h0m",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("human output lacks %q\n%s", want, out)
		}
	}
	t.Logf("exit %d\n%s%s", code, out, errOut)
}
