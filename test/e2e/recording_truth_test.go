//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/test/workloads"
)

// TestRecordersAgreeInPod holds the in-kernel recorder to a ground truth
// inside the pod: two ProfileRecordings select the same pods at the same
// time, one with the eBPF recorder, one with the log recorder (the pods run
// a profile that allows and logs every syscall, so the kernel writes an
// audit record for each). Both see the same processes under the same
// filter for the same run, so every syscall the audit stream names must be
// in the eBPF recording: missed = log − ebpf = 0. What only the eBPF
// recorder saw is reported with the audit records the kernel lost (the
// log path is lossy under a heavy load; the bitmaps are not).
func TestRecordersAgreeInPod(t *testing.T) {
	ctx := context.Background()
	loader, err := workloads.StartLoader(ctx, k8s, kubectl, kubeconfig, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loader.Stop(context.Background(), k8s) })
	var report []string
	for _, w := range workloads.All(ns) {
		t.Run(w.Name, func(t *testing.T) {
			report = append(report, recordersAgree(t, w, loader))
		})
	}
	t.Logf("eBPF recorder vs the audit log of a log-everything profile, same pods, same run:\n%s", strings.Join(report, "\n"))
}

func recordersAgree(t *testing.T, w *workloads.Workload, loader *workloads.Loader) string {
	ctx := context.Background()
	recs := map[v1alpha1.RecorderKind]*v1alpha1.ProfileRecording{}
	for _, kind := range []v1alpha1.RecorderKind{v1alpha1.RecorderEBPF, v1alpha1.RecorderLog} {
		rec := &v1alpha1.ProfileRecording{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("truth-%s-%s", kind, w.Name), Namespace: ns},
			Spec: v1alpha1.ProfileRecordingSpec{
				Mode:        v1alpha1.RecordingModeRecording,
				PodSelector: metav1.LabelSelector{MatchLabels: w.Labels()},
				Recorder:    kind,
			},
		}
		if err := k8s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), rec) })
		recs[kind] = rec
	}
	eventually(t, 60*time.Second, "the node's recorder attached", func() bool {
		var st v1alpha1.SeccompNodeStatus
		return k8s.Get(ctx, client.ObjectKey{Name: node}, &st) == nil && st.Status.Recorder != nil && st.Status.Recorder.Attached
	})
	// The log recording's binding must be an admission policy before the
	// pods are created, or they start under their own profile.
	logRec := recs[v1alpha1.RecorderLog]
	eventually(t, 60*time.Second, "the log recorder's binding bound", func() bool {
		var bs v1alpha1.ProfileBindingList
		if k8s.List(ctx, &bs, client.InNamespace(ns), client.MatchingLabels{v1alpha1.LabelRecording: logRec.Name}) != nil || len(bs.Items) != 1 {
			return false
		}
		return bindingReady(&bs.Items[0])
	})
	w.Seccomp = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	// A Ready binding means its admission policies are written; the
	// apiserver applies them once its informer has them. Only a pod that
	// went through admission says when that is: a dry run of the
	// workload's own pod template.
	eventually(t, 60*time.Second, "the log recorder's profile applied at admission", func() bool {
		tmpl := w.Deployment().Spec.Template
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "dry-" + w.Name, Namespace: ns, Labels: tmpl.Labels}, Spec: tmpl.Spec}
		if k8s.Create(ctx, p, client.DryRunAll) != nil {
			return false
		}
		c := p.Spec.Containers[0].SecurityContext
		return c != nil && c.SeccompProfile != nil && c.SeccompProfile.LocalhostProfile != nil
	})
	if err := workloads.Deploy(ctx, k8s, w); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = workloads.Remove(context.Background(), k8s, w) })
	pods, err := workloads.WaitReady(ctx, k8s, w, 120*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods {
		if c := p.Spec.Containers[0].SecurityContext; c == nil || c.SeccompProfile == nil || c.SeccompProfile.LocalhostProfile == nil {
			t.Fatalf("pod %s does not run the log recorder's profile: %+v", p.Name, c)
		}
	}
	lostBefore := auditLost(t)
	r, err := w.Load(ctx, k8s, loader, 3*time.Second)
	if err != nil || r.Errors != 0 {
		t.Fatalf("load: %v %s", err, r)
	}
	// The recorders harvest every second and the agent writes its node
	// state at most every few seconds: wait until both stop growing.
	sets := map[v1alpha1.RecorderKind][]string{}
	stable := 0
	eventually(t, 90*time.Second, "both recordings settled", func() bool {
		changed := false
		for kind, rec := range recs {
			if k8s.Get(ctx, client.ObjectKeyFromObject(rec), rec) != nil || len(rec.Status.Containers) != 1 {
				return false
			}
			names := syscallNames(rec.Status.Containers[0])
			if !slices.Equal(names, sets[kind]) {
				sets[kind], changed = names, true
			}
		}
		if changed || len(sets[v1alpha1.RecorderLog]) == 0 {
			stable = 0
			return false
		}
		stable++
		return stable >= 10
	})
	ebpf, logged := sets[v1alpha1.RecorderEBPF], sets[v1alpha1.RecorderLog]
	missed, onlyEBPF := minus(logged, ebpf), minus(ebpf, logged)
	if len(missed) > 0 {
		t.Errorf("%s: the eBPF recorder missed %d syscall(s) the audit log saw: %v", w.Name, len(missed), missed)
	}
	// Two runs of the same workload, recorded the same way: this one
	// (under the log profile) against TestProfileRecordingCycle's (under
	// RuntimeDefault, which answers clone3 before any recorder sees it).
	stability := "no first run"
	if first, ok := firstRun[w.Name]; ok {
		stability = fmt.Sprintf("first run %d: +%v -%v", len(first), minus(ebpf, first), minus(first, ebpf))
	}
	return fmt.Sprintf("| %s | log %d | eBPF %d | missed %d | eBPF only %v (audit records lost meanwhile: %d) | %s |",
		w.Name, len(logged), len(ebpf), len(missed), onlyEBPF, auditLost(t)-lostBefore, stability)
}

// bindingReady: the binding's admission policies are in place and its
// profile is installed on every node.
func bindingReady(b *v1alpha1.ProfileBinding) bool {
	return meta.IsStatusConditionTrue(b.Status.Conditions, "Ready") &&
		meta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionProfileInstalled)
}

// auditLost is the node's count of seccomp records lost since its agent
// started (the socket's overruns and the kernel's lost counter).
func auditLost(t *testing.T) int64 {
	t.Helper()
	var st v1alpha1.SeccompNodeStatus
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: node}, &st); err != nil {
		t.Fatal(err)
	}
	if st.Status.Records == nil {
		return 0
	}
	return st.Status.Records.Lost
}

// minus is a − b.
func minus(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}
