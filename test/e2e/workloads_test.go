//go:build e2e

package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/test/workloads"
)

// The recording proof's workloads under the predefined profiles of their
// class (nginx under webapp, PostgreSQL and Redis under database), each
// with its load from a load pod through its Service: every server process
// runs under the filter, the load sees zero errors, and the agent reports
// zero denials for the server's pods (no seccomp_violations_total series,
// no SeccompDenied Event). The recording e2e starts from this baseline.
func TestWorkloadsUnderPredefinedProfiles(t *testing.T) {
	ctx := context.Background()
	loader, err := workloads.StartLoader(ctx, k8s, kubectl, kubeconfig, ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loader.Stop(context.Background(), k8s) })
	for _, w := range workloads.All(ns) {
		t.Run(w.Name, func(t *testing.T) {
			waitInstalled(t, w.Predefined, 60*time.Second)
			w.Seccomp = workloads.Localhost(w.Predefined)
			if err := workloads.Deploy(ctx, k8s, w); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := workloads.Remove(context.Background(), k8s, w); err != nil {
					t.Error(err)
				}
			})
			pods, err := workloads.WaitReady(ctx, k8s, w, 120*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			pod := pods[0]
			pid := containerPID(t, pod.Status.ContainerStatuses[0].ContainerID)
			for _, p := range append([]int{pid}, children(t, pid)...) {
				if got := seccompMode(t, p); got != "2" {
					t.Errorf("%s process %d: Seccomp: %s, want 2", w.Name, p, got)
				}
			}
			r, err := w.Load(ctx, k8s, loader, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("under %s: %s", w.Predefined, r)
			if r.Errors != 0 || r.Done == 0 || r.Rate <= 0 {
				t.Errorf("load: %s\n%s", r, r.Output)
			}
			assertNoDenials(t, pod)
		})
	}
}

// assertNoDenials waits for the violations pipeline to catch up with the
// load (a denial reaches the metric within seconds, see
// TestViolationMetricAndEvent) and fails on any seccomp_violations_total
// series or SeccompDenied/SeccompWouldDeny Event of the pod.
func assertNoDenials(t *testing.T, pod corev1.Pod) {
	t.Helper()
	time.Sleep(5 * time.Second)
	for _, l := range agentMetrics(t, "seccomp_violations_total") {
		if strings.Contains(l, `namespace="`+pod.Namespace+`"`) && strings.Contains(l, `pod="`+pod.Name+`"`) {
			t.Errorf("denial of %s: %s", pod.Name, l)
		}
	}
	var list corev1.EventList
	if err := k8s.List(context.Background(), &list, client.InNamespace(pod.Namespace)); err != nil {
		t.Fatal(err)
	}
	for _, ev := range list.Items {
		if ev.InvolvedObject.Name == pod.Name && strings.HasPrefix(ev.Reason, "Seccomp") {
			t.Errorf("Event on %s: %s %s", pod.Name, ev.Reason, ev.Message)
		}
	}
}
