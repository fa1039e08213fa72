package cli

import (
	"encoding/json"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func TestMismatch(t *testing.T) {
	const (
		off    = v1alpha1.SeccompModeDisabled
		strict = v1alpha1.SeccompModeStrict
		filter = v1alpha1.SeccompModeFilter
		unk    = v1alpha1.SeccompModeUnknown
	)
	for _, tc := range []struct {
		declared   string
		privileged bool
		mode       v1alpha1.SeccompMode
		want       string
	}{
		{"RuntimeDefault", false, filter, ""},
		{"Localhost/operator/webapp.json", false, filter, ""},
		{"RuntimeDefault", false, off, "declares a profile, runs without a filter"},
		{"Localhost/operator/webapp.json", false, off, "declares a profile, runs without a filter"},
		{"RuntimeDefault", true, off, "declares a profile, runs without a filter: privileged"},
		{"RuntimeDefault", false, strict, "declares a profile, runs in strict mode"},
		{"RuntimeDefault", false, unk, ""},
		{"Unconfined", false, off, ""},
		{"Unconfined", true, off, ""},
		{"Unconfined", false, filter, "declares Unconfined, runs filtered"},
		{"Unconfined", false, strict, "declares Unconfined, runs in strict mode"},
		{"NodeDefault", false, off, ""},
		{"NodeDefault", true, off, ""},
		{"NodeDefault", false, filter, "declares no profile, runs filtered: the node's default"},
		{"NodeDefault", false, unk, ""},
		// Not the declared form (a node state written by something else):
		// the report does not guess.
		{"runtime/default", false, off, ""},
		{"", false, filter, ""},
	} {
		if got := mismatch(tc.declared, tc.privileged, tc.mode); got != tc.want {
			t.Errorf("mismatch(%q, privileged %v, %s) = %q, want %q", tc.declared, tc.privileged, tc.mode, got, tc.want)
		}
	}
}

func reportedState(ns, pod, container, id, declared string, mode v1alpha1.SeccompMode, filters int32) v1alpha1.ContainerSeccompState {
	return v1alpha1.ContainerSeccompState{Namespace: ns, Pod: pod, Container: container, ContainerID: id, Declared: declared, Mode: mode, Filters: filters}
}

func runningPod(ns, name, node, id string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}}
	p.Spec.NodeName = node
	p.Spec.Containers = []corev1.Container{{Name: "c", Image: "x"}}
	p.Status.Phase = corev1.PodRunning
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "c", ContainerID: id,
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

// unconfinedCluster is a cluster with every case of the report: node n1
// has an agent that reported its containers, n2 has none.
func unconfinedCluster(t *testing.T) client.Client {
	t.Helper()
	n1 := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "n1"}}
	priv := reportedState("default", "priv", "c", "containerd://priv", "RuntimeDefault", v1alpha1.SeccompModeDisabled, 0)
	priv.Privileged = true
	web := reportedState("default", "web", "c", "containerd://web", "Localhost/operator/webapp.json", v1alpha1.SeccompModeFilter, 1)
	web.Profile = "webapp"
	n1.Status.Containers = []v1alpha1.ContainerSeccompState{
		web, priv,
		reportedState("default", "unc", "c", "containerd://unc", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		reportedState("default", "fil", "c", "containerd://fil", "Unconfined", v1alpha1.SeccompModeFilter, 2),
		reportedState("default", "nd", "c", "containerd://nd", "NodeDefault", v1alpha1.SeccompModeFilter, 1),
		reportedState("default", "nd2", "c", "containerd://nd2", "NodeDefault", v1alpha1.SeccompModeDisabled, 0),
		reportedState("default", "strict", "c", "containerd://strict", "RuntimeDefault", v1alpha1.SeccompModeStrict, 0),
		reportedState("default", "unk", "c", "containerd://unk", "RuntimeDefault", v1alpha1.SeccompModeUnknown, 0),
		reportedState("kube-system", "kp", "c", "containerd://kp", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		reportedState("seccomp-operator", "agent", "c", "containerd://agent", "NodeDefault", v1alpha1.SeccompModeDisabled, 0),
		reportedState("team-x", "p", "c", "containerd://tx", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		reportedState("team-y", "gvisor", "c", "containerd://gv", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		reportedState("team-y", "runc", "c", "containerd://runc", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		// The agent saw an earlier instance of the container: it restarted.
		reportedState("default", "restarted", "c", "containerd://old", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		// Its pod is gone since the agent looked.
		reportedState("default", "gone", "c", "containerd://gone", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		// Its pod has terminated.
		reportedState("default", "done", "c", "containerd://done", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
		// A sidecar (restartable init container) the agent reported.
		reportedState("default", "sidecar", "init", "containerd://init", "Unconfined", v1alpha1.SeccompModeDisabled, 0),
	}
	objs := []client.Object{n1}
	for _, name := range []string{"web", "priv", "unc", "fil", "nd", "nd2", "strict", "unk"} {
		objs = append(objs, runningPod("default", name, "n1", "containerd://"+name, nil))
	}
	objs = append(objs,
		runningPod("kube-system", "kp", "n1", "containerd://kp", nil),
		runningPod("seccomp-operator", "agent", "n1", "containerd://agent", nil),
		runningPod("team-x", "p", "n1", "containerd://tx", nil),
		runningPod("team-y", "gvisor", "n1", "containerd://gv", func(p *corev1.Pod) { p.Spec.RuntimeClassName = ptr.To("gvisor") }),
		runningPod("team-y", "runc", "n1", "containerd://runc", nil),
		runningPod("default", "restarted", "n1", "containerd://new", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
		}),
		runningPod("default", "done", "n1", "containerd://done", func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }),
		runningPod("default", "sidecar", "n1", "containerd://sidecar", func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "x"}}
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "init", ContainerID: "containerd://init"}}
		}),
		// Running on n1, not reported yet.
		runningPod("default", "fresh", "n1", "containerd://fresh", func(p *corev1.Pod) {
			p.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/webapp.json")}}
		}),
		// On a node without an agent: declared resolved from the pod.
		runningPod("default", "elsewhere", "n2", "containerd://else", func(p *corev1.Pod) {
			p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
		}),
		// Not started yet, not reported: nothing runs.
		runningPod("default", "waiting", "n1", "", func(p *corev1.Pod) {
			p.Status.ContainerStatuses[0].State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}
		}),
		// Not scheduled.
		runningPod("default", "pending", "", "", func(p *corev1.Pod) { p.Status = corev1.PodStatus{Phase: corev1.PodPending} }),
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-x", Labels: map[string]string{"team": "x"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-y", Labels: map[string]string{"team": "y"}}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "default"}},
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system"}},
		// Governs team-x and team-y, exempts team-x and the gvisor class.
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "teams"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "team", Operator: metav1.LabelSelectorOpExists}}},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
			Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"team-x"}, RuntimeClasses: []string{"gvisor"}},
		}},
		// Exempts default, but governs no namespace of the cluster.
		&v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "elsewhere"}, Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"nowhere": "yes"}},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault"},
			Exemptions:        v1alpha1.PolicyExemptions{Namespaces: []string{"default"}},
		}},
	)
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	return fake.NewClientBuilder().WithScheme(scheme).WithObjects(objs...).Build()
}

func withCluster(t *testing.T, k8s client.Client) {
	t.Helper()
	old := newKubeClient
	newKubeClient = func(string) (client.Client, error) { return k8s, nil }
	t.Cleanup(func() { newKubeClient = old })
}

// tableRows maps "namespace/pod/container" to the rest of its table row.
func tableRows(out string) map[string]string {
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[0] != "NODE" && f[1] != "running" {
			rows[f[1]+"/"+f[2]+"/"+f[3]] = f[0] + " " + strings.Join(f[4:], " ")
		}
	}
	return rows
}

func TestAuditUnconfined(t *testing.T) {
	withCluster(t, unconfinedCluster(t))
	code, out, errOut := run(t, "audit", "--unconfined")
	if code != 1 {
		t.Fatalf("exit %d, want 1 (containers run unconfined)\n%s%s", code, out, errOut)
	}
	want := map[string]string{
		"default/web/c":            "n1 Localhost/operator/webapp.json Filter (1 filter)",
		"default/priv/c":           "n1 RuntimeDefault Disabled declares a profile, runs without a filter: privileged",
		"default/unc/c":            "n1 Unconfined Disabled",
		"default/fil/c":            "n1 Unconfined Filter (2 filters) declares Unconfined, runs filtered",
		"default/nd/c":             "n1 NodeDefault Filter (1 filter) declares no profile, runs filtered: the node's default",
		"default/nd2/c":            "n1 NodeDefault Disabled",
		"default/strict/c":         "n1 RuntimeDefault Strict declares a profile, runs in strict mode",
		"default/unk/c":            "n1 RuntimeDefault Unknown",
		"kube-system/kp/c":         "n1 Unconfined Disabled (exempt)",
		"seccomp-operator/agent/c": "n1 NodeDefault Disabled (exempt)",
		"team-x/p/c":               "n1 Unconfined Disabled (exempt)",
		"team-y/gvisor/c":          "n1 Unconfined Disabled (exempt)",
		"team-y/runc/c":            "n1 Unconfined Disabled",
		"default/restarted/c":      "n1 Unconfined not reported",
		"default/sidecar/init":     "n1 Unconfined Disabled",
		"default/sidecar/c":        "n1 NodeDefault not reported",
		"default/fresh/c":          "n1 Localhost/operator/webapp.json not reported",
		"default/elsewhere/c":      "n2 RuntimeDefault not reported",
	}
	got := tableRows(out)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("row %s = %q, want %q", k, got[k], w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected row %s: %q", k, got[k])
		}
	}
	if !strings.Contains(out, "18 running containers: 5 unconfined outside the exempt namespaces, 4 unconfined exempt, 4 mismatches, 4 not reported") {
		t.Errorf("summary:\n%s", out)
	}
	for _, w := range []string{"5 containers run unconfined outside the exempt namespaces (exempt: kube-system, seccomp-operator)", "default/priv/c", "team-y/runc/c", "default/sidecar/init"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q: %s", w, errOut)
		}
	}
}

func TestAuditUnconfinedExemptions(t *testing.T) {
	withCluster(t, unconfinedCluster(t))
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		// The flag replaces the default list: kube-system and the operator's
		// namespace count once it is given.
		{[]string{"--exempt-namespaces="}, 1, "7 unconfined outside the exempt namespaces, 2 unconfined exempt"},
		{[]string{"--exempt-namespaces", "default,team-y"}, 1, "2 unconfined outside the exempt namespaces, 7 unconfined exempt"},
		{[]string{"--exempt-namespaces", "default,team-y,kube-system,seccomp-operator"}, 0, "0 unconfined outside the exempt namespaces, 9 unconfined exempt"},
		{[]string{"--operator-namespace", "other"}, 1, "6 unconfined outside the exempt namespaces, 3 unconfined exempt"},
		// One namespace: the policy exempts team-x.
		{[]string{"-n", "team-x"}, 0, "1 running containers: 0 unconfined outside the exempt namespaces, 1 unconfined exempt"},
		{[]string{"-n", "team-y"}, 1, "2 running containers: 1 unconfined outside the exempt namespaces, 1 unconfined exempt"},
		{[]string{"-n", "kube-system"}, 0, "1 running containers: 0 unconfined outside the exempt namespaces, 1 unconfined exempt"},
	} {
		code, out, errOut := run(t, append([]string{"audit", "--unconfined"}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d (want %d), want %q in\n%s%s", tc.args, code, tc.code, tc.want, out, errOut)
		}
	}
}

func TestAuditUnconfinedMachineOutput(t *testing.T) {
	withCluster(t, unconfinedCluster(t))
	for _, format := range []string{"json", "yaml"} {
		code, out, errOut := run(t, "audit", "--unconfined", "-o", format)
		if code != 1 {
			t.Fatalf("-o %s: exit %d, want 1\n%s", format, code, errOut)
		}
		var rep unconfinedReport
		var err error
		if format == "json" {
			err = json.Unmarshal([]byte(out), &rep)
		} else {
			err = yaml.UnmarshalStrict([]byte(out), &rep)
		}
		if err != nil {
			t.Fatalf("-o %s: %v\n%s", format, err, out)
		}
		if rep.Unconfined != 5 || rep.UnconfinedExempt != 4 || rep.Mismatches != 4 || rep.NotReported != 4 || len(rep.Containers) != 18 {
			t.Errorf("-o %s: counts %+v", format, rep)
		}
		rows := map[string]unconfinedRow{}
		for _, r := range rep.Containers {
			rows[r.Namespace+"/"+r.Pod+"/"+r.Container] = r
		}
		if r := rows["default/priv/c"]; r != (unconfinedRow{Node: "n1", ContainerSeccompState: v1alpha1.ContainerSeccompState{Namespace: "default", Pod: "priv", Container: "c",
			ContainerID: "containerd://priv", Declared: "RuntimeDefault", Privileged: true, Mode: "Disabled"},
			Mismatch: "declares a profile, runs without a filter: privileged"}) {
			t.Errorf("-o %s: priv %+v", format, r)
		}
		if r := rows["default/fresh/c"]; r.Mode != modeNotReported || r.Profile != "webapp" || r.Declared != "Localhost/operator/webapp.json" {
			t.Errorf("-o %s: fresh %+v", format, r)
		}
		if r := rows["default/elsewhere/c"]; r.Mode != modeNotReported || !r.Privileged || r.Mismatch != "" {
			t.Errorf("-o %s: elsewhere %+v", format, r)
		}
		if r := rows["team-x/p/c"]; !r.Exempt {
			t.Errorf("-o %s: team-x not exempt: %+v", format, r)
		}
		if strings.Join(rep.ExemptNamespaces, ",") != "kube-system,seccomp-operator" {
			t.Errorf("-o %s: exempt namespaces %v", format, rep.ExemptNamespaces)
		}
	}
}

func TestAuditFlags(t *testing.T) {
	for _, args := range [][]string{
		{"audit"},
		{"audit", "--policy", "--unconfined"},
		{"audit", "--unconfined", "--file", "x.yaml"},
		{"audit", "--policy", "-n", "default"},
	} {
		if code, _, errOut := run(t, args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, want 2: %s", args, code, errOut)
		}
	}
}
