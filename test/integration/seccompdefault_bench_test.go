//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/cli"
)

// The timing of audit --seccomp-default on 1,000 running pods (PODS) on
// 10 nodes, 60 % of the workloads recorded, every container reported by
// its node's agent, against the real apiserver:
// docs/benchmarks.md section 13, target < 5 s.
// SECCOMP_BENCH=1 KUBEBUILDER_ASSETS="$(./hack/kube-binaries.sh)" go test -count=1 -tags integration -run TestSeccompDefaultReport1000 -v ./test/integration/
func TestSeccompDefaultReport1000(t *testing.T) {
	if os.Getenv("SECCOMP_BENCH") == "" {
		t.Skip("timing test: set SECCOMP_BENCH=1")
	}
	// PODS: fewer for make test-commands' short run.
	pods := 1000
	if v := os.Getenv("PODS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10 {
			t.Fatalf("PODS=%q: want a number >= 10", v)
		}
		pods = n / 10 * 10
	}
	// Workloads of 10 replicas: the verdicts of a workload's replicas are
	// computed once.
	t.Run("replicas", func(t *testing.T) { benchSeccompDefault(t, "sdef-bench", pods/10, 10) })
	// Workloads of one pod: the worst case, a check (and for those that
	// break, the predefined fits) per pod.
	t.Run("distinct", func(t *testing.T) { benchSeccompDefault(t, "sdef-bench-distinct", pods, 1) })
}

func benchSeccompDefault(t *testing.T, ns string, apps, replicas int) {
	ctx := context.Background()
	kc := adminKubeconfig(t)
	const nodes = 10
	policyNamespace(t, ns, nil)
	for n := range nodes {
		node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, n)}}
		if err := k8s.Create(ctx, node); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, node) })
		node.Status.NodeInfo = corev1.NodeSystemInfo{ContainerRuntimeVersion: "containerd://1.6.20", Architecture: "amd64", KernelVersion: "6.1.0-18-amd64"}
		if err := k8s.Status().Update(ctx, node); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	states := make([][]v1alpha1.ContainerSeccompState, nodes)
	var mu sync.Mutex
	work := make(chan int)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				app, node := fmt.Sprintf("app%04d", i/replicas), i%nodes
				p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: fmt.Sprintf("%s-%d", app, i%replicas), Labels: map[string]string{"app": app}},
					Spec: corev1.PodSpec{NodeName: fmt.Sprintf("%s-%d", ns, node), Containers: []corev1.Container{{Name: "app", Image: "busybox"}}}}
				err := k8s.Create(ctx, p)
				if err == nil {
					p.Status.Phase = corev1.PodRunning
					p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "busybox", ContainerID: "containerd://" + p.Name,
						State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}}
					err = k8s.Status().Update(ctx, p)
				}
				if err != nil {
					select {
					case errs <- err:
					default:
					}
					continue
				}
				mu.Lock()
				states[node] = append(states[node], v1alpha1.ContainerSeccompState{Namespace: ns, Pod: p.Name, Container: "app",
					ContainerID: "containerd://" + p.Name, Declared: "NodeDefault", Mode: v1alpha1.SeccompModeDisabled})
				mu.Unlock()
			}
		}()
	}
	for i := range apps * replicas {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
	t.Cleanup(func() {
		_ = k8s.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(ns), client.GracePeriodSeconds(0))
	})
	for n := range nodes {
		slices.SortFunc(states[n], func(a, b v1alpha1.ContainerSeccompState) int { return strings.Compare(a.Pod, b.Pod) })
		st := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", ns, n)}, Status: v1alpha1.NodeState{Containers: states[n]}}
		if err := k8s.Create(ctx, st); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, st) })
	}
	// 60 % of the workloads recorded: every third of them uses unshare.
	for a := range apps * 6 / 10 {
		app := fmt.Sprintf("app%04d", a)
		r := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app}, Spec: v1alpha1.ProfileRecordingSpec{
			Mode: v1alpha1.RecordingModeDisabled, PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
		if err := k8s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(ctx, r) })
		c := v1alpha1.RecordedContainer{Name: "app", Replicas: int32(replicas), Architectures: []string{"x86_64"}}
		names := append([]string{}, sdefBasic...)
		if a%3 == 0 {
			names = append(names, "unshare")
		}
		for _, s := range names {
			c.Syscalls = append(c.Syscalls, v1alpha1.RecordedSyscall{Name: s, Replicas: int32(replicas)})
		}
		r.Status = v1alpha1.ProfileRecordingStatus{Phase: v1alpha1.RecordingPhaseDisabled, Pods: int32(replicas), Containers: []v1alpha1.RecordedContainer{c}}
		if err := k8s.Status().Update(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%s: set up %d pods in %v", ns, apps*replicas, time.Since(start).Round(time.Millisecond))

	var times []time.Duration
	for range 5 {
		var out, errOut bytes.Buffer
		t0 := time.Now()
		code := cli.Execute([]string{"audit", "--seccomp-default", "--kubeconfig", kc, "-n", ns, "-o", "json"}, strings.NewReader(""), &out, &errOut)
		times = append(times, time.Since(t0))
		var rep struct{ Safe, Breaks, Unknown, Unaffected int }
		if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
			t.Fatalf("%v\n%s", err, errOut.String())
		}
		recorded := apps * 6 / 10
		breaks := (recorded + 2) / 3 * replicas
		if code != 1 || rep.Breaks != breaks || rep.Safe != recorded*replicas-breaks || rep.Unknown != (apps-recorded)*replicas {
			t.Fatalf("exit %d, %+v; want 1 and %d breaks of %d recorded", code, rep, breaks, recorded*replicas)
		}
	}
	slices.Sort(times)
	t.Logf("%s: audit --seccomp-default -n %s, %d pods, 5 runs: min %v, median %v, max %v (target < 5 s)", ns, ns, apps*replicas, times[0].Round(time.Millisecond), times[2].Round(time.Millisecond), times[4].Round(time.Millisecond))
	if times[2] > 5*time.Second {
		t.Errorf("median %v, target < 5 s", times[2])
	}
}
