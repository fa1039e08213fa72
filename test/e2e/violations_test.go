//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/test/metricsreader"
)

// loopPod is probePod whose container runs `probe mkdir-loop` (or the i386
// probe32): a container hammering mkdir every 100 ms.
func loopPod(name, localhost, bin string) *corev1.Pod {
	pod := probePod(name, localhost)
	pod.Spec.Containers[0].Command = []string{bin, "mkdir-loop", "/tmp/denied"}
	pod.Spec.Containers[0].ReadinessProbe = nil
	return pod
}

// agentMetrics scrapes the node agent's metrics over HTTPS with a metrics
// reader's token (as a cluster's Prometheus does) and returns the samples
// of the named metric as "name{labels} value" lines.
func agentMetrics(t *testing.T, metric string) []string {
	t.Helper()
	ctx := context.Background()
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	scraper, err := metricsreader.Client(ctx, kube, "../../"+metricsreader.RoleFile, ns, "e2e-metrics-reader")
	if err != nil {
		t.Fatal(err)
	}
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace("seccomp-operator"), client.MatchingLabels{"app.kubernetes.io/name": "seccomp-operator-agent"}); err != nil || len(pods.Items) == 0 {
		t.Fatalf("agent pods: %v (%d)", err, len(pods.Items))
	}
	resp, err := scraper.Get("https://" + pods.Items[0].Status.PodIP + ":8443/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape: %s %s", resp.Status, b)
	}
	var out []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), metric+"{") || strings.HasPrefix(sc.Text(), metric+" ") {
			out = append(out, sc.Text())
		}
	}
	return out
}

// violationSeries waits for the seccomp_violations_total series with
// exactly these six labels and returns its line.
func violationSeries(t *testing.T, pod, profile, syscall, action string) string {
	t.Helper()
	want := fmt.Sprintf(`seccomp_violations_total{action=%q,container="probe",namespace=%q,pod=%q,profile=%q,syscall=%q} `, action, ns, pod, profile, syscall)
	var line string
	eventually(t, 30*time.Second, "metric "+want, func() bool {
		for _, l := range agentMetrics(t, "seccomp_violations_total") {
			if strings.HasPrefix(l, want) {
				line = l
				return true
			}
		}
		return false
	})
	return line
}

// violationEvent waits for the Event on the pod with the reason and a
// count of at least minCount.
func violationEvent(t *testing.T, pod, reason string, minCount int32, d time.Duration) corev1.Event {
	t.Helper()
	var found corev1.Event
	eventually(t, d, fmt.Sprintf("a %s Event on %s with count >= %d", reason, pod, minCount), func() bool {
		var list corev1.EventList
		if err := k8s.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, ev := range list.Items {
			if ev.InvolvedObject.Name == pod && ev.Reason == reason && ev.Count >= minCount {
				found = ev
				return true
			}
		}
		return false
	})
	return found
}

// A pod whose operator profile denies mkdir, hammering it: the kernel
// filters it (Seccomp: 2), the call fails with EPERM, and the agent counts
// every denial in seccomp_violations_total under the pod, its container,
// the profile, the syscall and the action, and writes one Event on the
// pod whose count grows.
func TestViolationMetricAndEvent(t *testing.T) {
	name := "e2e-viol-" + rand.String(5)
	createProfile(t, denyMkdir(name))
	waitInstalled(t, name, 60*time.Second)
	pid := startPod(t, loopPod(name, "operator/"+name+".json", "/probe"))
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("container process %d: Seccomp: %s, want 2", pid, got)
	}
	if got := execProbe(t, name, "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir in the container: %q, want EPERM", got)
	}
	t.Logf("metric: %s", violationSeries(t, name, name, "mkdirat", "errno"))
	ev := violationEvent(t, name, "SeccompDenied", 1, 30*time.Second)
	for _, s := range []string{"mkdirat", "x86_64", "SeccompProfile " + name, "container probe"} {
		if !strings.Contains(ev.Message, s) {
			t.Errorf("Event message %q lacks %q", ev.Message, s)
		}
	}
	// The count is updated (at most every 30 s) on the same Event.
	ev = violationEvent(t, name, "SeccompDenied", ev.Count+1, 60*time.Second)
	t.Logf("event x%d: %s", ev.Count, ev.Message)

	// The node state shows the container's real mode next to its
	// declared profile.
	st := containerState(t, name, "probe")
	if st.Mode != v1alpha1.SeccompModeFilter || st.Profile != name || st.Declared != "Localhost/operator/"+name+".json" || st.Filters < 1 {
		t.Errorf("node state of the container: %+v", st)
	}
}

// The same profile in Complain mode: mkdir succeeds, and the would-be
// denials are counted with action log.
func TestViolationComplainMode(t *testing.T) {
	name := "e2e-viol-complain-" + rand.String(5)
	p := denyMkdir(name)
	p.Spec.Mode = v1alpha1.ModeComplain
	createProfile(t, p)
	waitInstalled(t, name, 60*time.Second)
	startPod(t, loopPod(name, "operator/"+name+".json", "/probe"))
	if got := execProbe(t, name, "mkdir", "/tmp/complain"); got != "ok" {
		t.Errorf("mkdir in complain mode: %q, want ok", got)
	}
	t.Logf("metric: %s", violationSeries(t, name, name, "mkdirat", "log"))
	ev := violationEvent(t, name, "SeccompWouldDeny", 1, 30*time.Second)
	if !strings.Contains(ev.Message, "would have been denied") {
		t.Errorf("Event message %q", ev.Message)
	}
}

// A 32-bit (i386) process's denial is named with the i386 table: its
// mkdirat is number 296, which the x86_64 table calls pwritev.
func TestViolationI386(t *testing.T) {
	name := "e2e-viol-i386-" + rand.String(5)
	p := denyMkdir(name)
	p.Spec.Architectures = append(p.Spec.Architectures, "SCMP_ARCH_X86")
	createProfile(t, p)
	waitInstalled(t, name, 60*time.Second)
	startPod(t, loopPod(name, "operator/"+name+".json", "/probe32"))
	t.Logf("metric: %s", violationSeries(t, name, name, "mkdirat", "errno"))
	ev := violationEvent(t, name, "SeccompDenied", 1, 30*time.Second)
	if !strings.Contains(ev.Message, "mkdirat (x86, number 296)") {
		t.Errorf("Event message %q: want the i386 mkdirat (x86, number 296)", ev.Message)
	}
}

// The node state reports each container's real seccomp mode: the demo's
// nginx runs under a filter, an Unconfined pod under none.
func TestNodeStateContainerModes(t *testing.T) {
	ctx := context.Background()
	name := "e2e-unconfined-" + rand.String(5)
	// A namespace of its own: the suite's is baseline, which refuses
	// Unconfined.
	space := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := k8s.Create(ctx, space); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), space) })
	pod := probePod(name, "")
	pod.Namespace = name
	pod.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}
	startPod(t, pod)
	st := containerStateIn(t, name, name, "probe")
	if st.Mode != v1alpha1.SeccompModeDisabled || st.Declared != "Unconfined" {
		t.Errorf("Unconfined pod: %+v, want mode Disabled", st)
	}
	var pods corev1.PodList
	if err := k8s.List(context.Background(), &pods, client.InNamespace("seccomp-demo"), client.MatchingLabels{"app": "webapp"}); err != nil || len(pods.Items) == 0 {
		t.Fatalf("demo pods: %v", err)
	}
	nginx := pods.Items[0]
	st = containerStateIn(t, "seccomp-demo", nginx.Name, nginx.Spec.Containers[0].Name)
	if st.Mode != v1alpha1.SeccompModeFilter || st.Profile != "webapp" {
		t.Errorf("nginx: %+v, want mode Filter under webapp", st)
	}
	var sns v1alpha1.SeccompNodeStatus
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: node}, &sns); err != nil {
		t.Fatal(err)
	}
	if r := sns.Status.Records; r == nil || !r.Reading || r.Source != "audit-netlink" || r.Lost != 0 {
		t.Errorf("node state records: %+v, want reading audit-netlink, nothing lost", r)
	}
}

func containerState(t *testing.T, pod, container string) v1alpha1.ContainerSeccompState {
	t.Helper()
	return containerStateIn(t, ns, pod, container)
}

// containerStateIn waits for the container's entry in the node state.
func containerStateIn(t *testing.T, namespace, pod, container string) v1alpha1.ContainerSeccompState {
	t.Helper()
	var found v1alpha1.ContainerSeccompState
	eventually(t, 60*time.Second, "node state entry of "+namespace+"/"+pod+"/"+container, func() bool {
		var sns v1alpha1.SeccompNodeStatus
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: node}, &sns); err != nil {
			return false
		}
		for _, c := range sns.Status.Containers {
			if c.Namespace == namespace && c.Pod == pod && c.Container == container {
				found = c
				return true
			}
		}
		return false
	})
	return found
}
