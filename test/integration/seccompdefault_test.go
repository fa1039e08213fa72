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

// sdefBasic is what every recorded workload of the test does besides its
// own syscall.
var sdefBasic = []string{"read", "write", "openat", "close", "fstat", "mmap", "munmap", "brk", "exit_group", "futex", "rt_sigaction"}

// seccompctl audit --seccomp-default against the real apiserver: pods as
// the kubelet leaves them, Nodes with their runtime, a node state, and
// ProfileRecordings with the status the manager merges, judged against
// each node's runtime default or --runtime's.
func TestSeccompctlAuditSeccompDefault(t *testing.T) {
	ctx := context.Background()
	kc := adminKubeconfig(t)
	const ns = "sdef-a"
	policyNamespace(t, ns, nil)
	policyNamespace(t, "sdef-b", nil)

	mkNode := func(name, runtime string) {
		n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
		if err := k8s.Create(ctx, n); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, n) })
		n.Status.NodeInfo = corev1.NodeSystemInfo{ContainerRuntimeVersion: runtime, Architecture: "amd64", KernelVersion: "6.1.0-18-amd64",
			OperatingSystem: "linux"}
		if err := k8s.Status().Update(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	mkNode("sdef-node-1", "containerd://1.6.20")
	mkNode("sdef-node-2", "containerd://1.6.24")

	mkPod := func(ns, name, app, node string, sc *corev1.SecurityContext) {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app, "pod-template-hash": "x1"}},
			Spec: corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "app", Image: "busybox", SecurityContext: sc}}}}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, p) })
		p.Status.Phase = corev1.PodRunning
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "busybox", ContainerID: "containerd://" + ns + "-" + name,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
		if err := k8s.Status().Update(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	sysAdmin := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
	mkPod(ns, "plain", "plain", "sdef-node-1", nil)
	mkPod(ns, "userns", "userns", "sdef-node-1", &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}})
	mkPod(ns, "keys", "keys", "sdef-node-2", nil)
	mkPod(ns, "fresh", "fresh", "sdef-node-1", nil)
	mkPod(ns, "priv", "userns", "sdef-node-1", &corev1.SecurityContext{Privileged: ptr.To(true)})
	mkPod(ns, "mounter", "mounter", "sdef-node-1", sysAdmin)
	mkPod(ns, "mounter-nocap", "mounter", "sdef-node-1", nil)
	mkPod(ns, "filtered", "plain", "sdef-node-1", nil)
	mkPod(ns, "confined", "userns", "sdef-node-1", &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}})
	mkPod("sdef-b", "fresh", "fresh", "sdef-node-1", nil)

	// The node's agent reported some: filtered already runs under the
	// node's default (the kubelet has SeccompDefault), so it is not listed.
	state := func(pod, declared string, mode v1alpha1.SeccompMode) v1alpha1.ContainerSeccompState {
		return v1alpha1.ContainerSeccompState{Namespace: ns, Pod: pod, Container: "app", ContainerID: "containerd://" + ns + "-" + pod, Declared: declared, Mode: mode}
	}
	privState := state("priv", "NodeDefault", v1alpha1.SeccompModeDisabled)
	privState.Privileged = true
	nodeState := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "sdef-node-1"}, Status: v1alpha1.NodeState{
		Containers: []v1alpha1.ContainerSeccompState{
			state("plain", "NodeDefault", v1alpha1.SeccompModeDisabled),
			state("userns", "Unconfined", v1alpha1.SeccompModeDisabled),
			privState,
			state("filtered", "NodeDefault", v1alpha1.SeccompModeFilter),
		}}}
	if err := k8s.Create(ctx, nodeState); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(ctx, nodeState) })

	// Recordings with the status the manager merges from the nodes.
	mkRecording := func(app string, extra ...string) {
		r := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app}, Spec: v1alpha1.ProfileRecordingSpec{
			Mode: v1alpha1.RecordingModeDisabled, PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
		if err := k8s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, r) })
		c := v1alpha1.RecordedContainer{Name: "app", Replicas: 1, Architectures: []string{"x86_64"}}
		for _, s := range append(append([]string{}, sdefBasic...), extra...) {
			c.Syscalls = append(c.Syscalls, v1alpha1.RecordedSyscall{Name: s, Replicas: 1})
		}
		r.Status = v1alpha1.ProfileRecordingStatus{Phase: v1alpha1.RecordingPhaseDisabled, Pods: 1, Containers: []v1alpha1.RecordedContainer{c}}
		if err := k8s.Status().Update(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	mkRecording("plain")
	mkRecording("userns", "unshare")
	mkRecording("keys", "keyctl", "add_key")
	mkRecording("mounter", "mount", "umount2")

	audit := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := cli.Execute(append([]string{"audit", "--seccomp-default", "--kubeconfig", kc}, args...), strings.NewReader(""), &out, &errOut)
		return code, out.String(), errOut.String()
	}
	type row struct {
		Node, Namespace, Pod, Container, Declared, Against, Verdict, Reason string
		NodeDefaultApplies                                                  bool
		Refused                                                             []struct{ Arch, Syscall, ErrnoName string }
		Evidence                                                            []struct{ Kind, Recording string }
		Fix                                                                 *struct{ Kind, Profile, Command string }
	}
	var rep struct {
		Nodes                             []struct{ Node, RuntimeVersion, Against, Note, Problem string }
		Containers                        []row
		Safe, Breaks, Unknown, Unaffected int
	}
	decode := func(out string) map[string]row {
		rep.Nodes, rep.Containers = nil, nil
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("-o json: %v\n%s", err, out)
		}
		m := map[string]row{}
		for _, r := range rep.Containers {
			m[r.Namespace+"/"+r.Pod] = r
		}
		return m
	}
	refused := func(r row) string {
		var s []string
		for _, f := range r.Refused {
			s = append(s, f.Syscall)
		}
		return strings.Join(s, ",")
	}

	code, out, errOut := audit("-n", ns, "-o", "json")
	if code != 1 || !strings.Contains(errOut, "containers would break under RuntimeDefault") {
		t.Fatalf("exit %d, want 1 (a container breaks)\n%s%s", code, out, errOut)
	}
	rows := decode(out)
	for _, c := range []struct{ pod, verdict, against, refused, fix string }{
		{"plain", "safe", "containerd@v1.6.20", "", "RuntimeDefault"},
		{"userns", "breaks", "containerd@v1.6.20", "unshare", "predefined"},
		{"keys", "breaks", "containerd@v1.6.20", "add_key,keyctl", "predefined"},
		{"fresh", "unknown", "containerd@v1.6.20", "", "record"},
		{"priv", "unaffected", "containerd@v1.6.20", "", ""},
		{"mounter", "safe", "containerd@v1.6.20", "", "RuntimeDefault"},
		{"mounter-nocap", "breaks", "containerd@v1.6.20", "mount,umount2", "predefined"},
	} {
		r, ok := rows[ns+"/"+c.pod]
		if !ok {
			t.Errorf("%s not listed\n%s", c.pod, out)
			continue
		}
		fix := ""
		if r.Fix != nil {
			fix = r.Fix.Kind
		}
		if r.Verdict != c.verdict || r.Against != c.against || refused(r) != c.refused || fix != c.fix {
			t.Errorf("%s: %s against %s refused %q fix %q (%s); want %s against %s refused %q fix %q", c.pod, r.Verdict, r.Against, refused(r), fix, r.Reason,
				c.verdict, c.against, c.refused, c.fix)
		}
	}
	if r := rows[ns+"/userns"]; r.NodeDefaultApplies || len(r.Evidence) != 1 || r.Evidence[0].Recording != ns+"/userns" || r.Refused[0].ErrnoName != "EPERM" {
		t.Errorf("userns: %+v", r)
	}
	if r := rows[ns+"/fresh"]; !r.NodeDefaultApplies || r.Fix == nil || !strings.Contains(r.Fix.Command, `matchLabels: {"app": "fresh"}`) {
		t.Errorf("fresh: %+v", r)
	}
	for _, p := range []string{"filtered", "confined"} {
		if _, ok := rows[ns+"/"+p]; ok {
			t.Errorf("%s runs under a profile, listed", p)
		}
	}
	if _, ok := rows["sdef-b/fresh"]; ok {
		t.Errorf("-n %s lists sdef-b", ns)
	}
	if rep.Safe != 2 || rep.Breaks != 3 || rep.Unknown != 1 || rep.Unaffected != 1 {
		t.Errorf("counts: %d safe, %d breaks, %d unknown, %d unaffected", rep.Safe, rep.Breaks, rep.Unknown, rep.Unaffected)
	}
	notes := map[string]string{}
	for _, n := range rep.Nodes {
		notes[n.Node] = n.Note
	}
	if !strings.Contains(notes["sdef-node-2"], "containerd://1.6.24 is not held: compared with containerd@v1.6.20, the nearest held (its release line's, else the newest older)") || notes["sdef-node-1"] != "" {
		t.Errorf("nodes: %+v", rep.Nodes)
	}

	// Under Docker's default, CAP_SYS_ADMIN lets mount through as well.
	code, out, errOut = audit("-n", ns, "--runtime", "docker@v0.3.0", "-o", "json")
	rows = decode(out)
	if code != 1 || rows[ns+"/mounter"].Verdict != "safe" || refused(rows[ns+"/mounter-nocap"]) != "mount,umount2" || rows[ns+"/mounter"].Against != "docker@v0.3.0" {
		t.Errorf("--runtime docker: exit %d; mounter %+v; mounter-nocap %+v\n%s", code, rows[ns+"/mounter"], rows[ns+"/mounter-nocap"], errOut)
	}

	// The human report: verdicts with their syscalls, the fix, the summary.
	code, out, errOut = audit("-n", ns)
	for _, want := range []string{
		"node sdef-node-2: against containerd@v1.6.20: containerd://1.6.24 is not held",
		"breaks on unshare (ERRNO(EPERM))",
		"the predefined profile kubelet fits",
		"RuntimeDefault is safe",
		`kubectl apply -f - <<'EOF'`,
		"7 containers without a profile: 2 safe, 3 would break, 0 depend on arguments (not a failure), 1 unknown (no evidence: not a failure), 1 privileged (unaffected)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("human output lacks %q\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("human: exit %d\n%s", code, errOut)
	}
	t.Logf("\n%s", out)

	// Only unknowns and safe ones: exit 0.
	code, out, errOut = audit("-n", "sdef-b")
	if code != 0 || !strings.Contains(out, "1 containers without a profile: 0 safe, 0 would break, 0 depend on arguments (not a failure), 1 unknown") {
		t.Errorf("-n sdef-b: exit %d, want 0\n%s%s", code, out, errOut)
	}
	t.Logf("\n%s", out)
}
