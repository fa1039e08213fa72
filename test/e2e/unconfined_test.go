//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/internal/cli"
)

// unconfinedNS admits privileged and Unconfined pods, which the suite's
// baseline namespace refuses.
const unconfinedNS = "seccomp-e2e-unconfined"

// An Unconfined pod and a privileged pod (which declares RuntimeDefault,
// and which runc starts without a filter all the same) show up in
// seccompctl audit --unconfined with the mode the kernel shows for their
// processes, next to a RuntimeDefault pod that really runs filtered; the
// report fails until their namespace is exempt.
func TestAuditUnconfinedRealModes(t *testing.T) {
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: unconfinedNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "privileged",
	}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	pod := func(name string, sc *corev1.SecurityContext) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: unconfinedNS},
			Spec: corev1.PodSpec{
				TerminationGracePeriodSeconds: ptr.To[int64](1),
				Containers:                    []corev1.Container{{Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent, SecurityContext: sc}},
			},
		}
	}
	profile := func(typ corev1.SeccompProfileType) *corev1.SecurityContext {
		return &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: typ}}
	}
	priv := profile(corev1.SeccompProfileTypeRuntimeDefault)
	priv.Privileged = ptr.To(true)
	pids := map[string]int{
		"unconfined": startPod(t, pod("unconfined", profile(corev1.SeccompProfileTypeUnconfined))),
		"privileged": startPod(t, pod("privileged", priv)),
		"confined":   startPod(t, pod("confined", profile(corev1.SeccompProfileTypeRuntimeDefault))),
	}
	// What the kernel says, read here, to hold the report against.
	kernel := map[string]string{}
	for name, pid := range pids {
		switch m := seccompMode(t, pid); m {
		case "0":
			kernel[name] = "Disabled"
		case "2":
			kernel[name] = "Filter " + procStatusField(t, pid, "Seccomp_filters")
		default:
			kernel[name] = "Seccomp: " + m
		}
	}
	if kernel["unconfined"] != "Disabled" || kernel["privileged"] != "Disabled" || !strings.HasPrefix(kernel["confined"], "Filter ") {
		t.Fatalf("the kernel's modes are not what this test is about: %v", kernel)
	}

	type row struct {
		Pod, Node, Declared, Mode, Mismatch string
		Filters                             int
		Privileged, Exempt                  bool
	}
	audit := func(args ...string) (int, map[string]row, string) {
		var out, errOut bytes.Buffer
		code := cli.Execute(append([]string{"audit", "--unconfined", "--kubeconfig", kubeconfig, "-n", unconfinedNS, "-o", "json"}, args...),
			strings.NewReader(""), &out, &errOut)
		var rep struct{ Containers []row }
		rows := map[string]row{}
		if err := json.Unmarshal(out.Bytes(), &rep); err == nil {
			for _, r := range rep.Containers {
				rows[r.Pod] = r
			}
		}
		return code, rows, out.String() + errOut.String()
	}
	// The agent reports on change, a few seconds after the pods start.
	var code int
	var rows map[string]row
	var out string
	eventually(t, 90*time.Second, "the agent reports the three containers", func() bool {
		code, rows, out = audit()
		for name := range pids {
			if r, ok := rows[name]; !ok || r.Mode == "NotReported" {
				return false
			}
		}
		return true
	})
	report := map[string]string{}
	for name, r := range rows {
		report[name] = r.Mode
		if r.Mode == "Filter" {
			report[name] += " " + strconv.Itoa(r.Filters)
		}
	}
	for name, want := range kernel {
		if report[name] != want {
			t.Errorf("%s: report says %q, the kernel %q\n%s", name, report[name], want, out)
		}
	}
	for name, want := range map[string]row{
		"unconfined": {Pod: "unconfined", Node: node, Declared: "Unconfined", Mode: "Disabled"},
		"privileged": {Pod: "privileged", Node: node, Declared: "RuntimeDefault", Mode: "Disabled", Privileged: true,
			Mismatch: "declares a profile, runs without a filter: privileged"},
		"confined": {Pod: "confined", Node: node, Declared: "RuntimeDefault", Mode: "Filter", Filters: rows["confined"].Filters},
	} {
		if rows[name] != want {
			t.Errorf("%s: %+v, want %+v", name, rows[name], want)
		}
	}
	if code != 1 {
		t.Errorf("exit %d, want 1: two containers run unconfined\n%s", code, out)
	}
	code, rows, out = audit("--exempt-namespaces", unconfinedNS)
	if code != 0 || !rows["unconfined"].Exempt || !rows["privileged"].Exempt {
		t.Errorf("namespace exempt: exit %d, want 0\n%s", code, out)
	}
	t.Logf("\n%s", out)
}
