// Command violations benchmarks the way a denial travels on the real
// cluster of make up: one container makes a burst of denied mkdir calls and
// the benchmark checks that every one of them reached the agent's
// seccomp_violations_total, that the kernel lost no record, how many Event
// writes the burst cost and what the agent paid for it (CPU, memory).
//
//	make up && make bench-violations          (N, default 50000; AUDITD=1 runs auditd too)
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/auditsource"
	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
	"github.com/seccomp-operator/seccomp-operator/test/metricsreader"
	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
	"github.com/seccomp-operator/seccomp-operator/test/probepod"
)

const (
	ns          = "seccomp-bench-violations"
	name        = "bench-violations"
	operatorNS  = "seccomp-operator"
	agentApp    = "seccomp-operator-agent"
	metricsPort = 8443
)

type options struct {
	n          int
	auditd     bool
	kubeconfig string
}

func main() {
	o, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2)
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench-violations: %v\n", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (options, error) {
	var o options
	fs := flag.NewFlagSet("bench-violations", flag.ContinueOnError)
	fs.IntVar(&o.n, "n", 50000, "denials in the burst")
	fs.BoolVar(&o.auditd, "auditd", false, "run Debian's auditd (apt-get install auditd) during the burst, as on a node that has one")
	fs.StringVar(&o.kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the make up cluster")
	return o, fs.Parse(args)
}

func run(o options) error {
	if o.kubeconfig == "" {
		o.kubeconfig = "/var/lib/seccomp-operator-up/admin.kubeconfig"
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", o.kubeconfig)
	if err != nil {
		return fmt.Errorf("cluster (run make up first): %w", err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	ctx := context.Background()

	if o.auditd {
		stop, err := startAuditd()
		if err != nil {
			return err
		}
		defer stop()
	}

	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline"}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	p := probepod.DenyMkdir(name)
	pod := probepod.Pod(ns, name, name)
	// A pod of an earlier, interrupted run would add its own counts.
	_ = k8s.Delete(ctx, pod, client.GracePeriodSeconds(0))
	if err := waitGone(ctx, k8s, pod); err != nil {
		return err
	}
	if err := k8s.Create(ctx, p); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	defer func() { _ = k8s.Delete(ctx, p) }()
	if err := k8s.Create(ctx, pod); err != nil {
		return err
	}
	defer func() { _ = k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)) }()
	if err := waitRunning(ctx, k8s, pod); err != nil {
		return err
	}

	scraper, err := metricsreader.Client(ctx, kube, metricsreader.RoleFile, ns, "bench-violations-reader")
	if err != nil {
		return err
	}
	agentPod, err := agentOf(ctx, k8s, pod.Spec.NodeName)
	if err != nil {
		return err
	}
	url := fmt.Sprintf("https://%s:%d/metrics", agentPod.Status.PodIP, metricsPort)
	before, err := scrape(scraper, url)
	if err != nil {
		return err
	}
	kernelBefore, err := auditsource.Status()
	if err != nil {
		return fmt.Errorf("the kernel's lost counter (the benchmark runs as root on the node): %w", err)
	}

	// Every write of the agent's Events about the pod shows up on this
	// watch as one ADDED or MODIFIED (an aggregated Event is one object
	// updated); the kubelet's Events of the pod are left out.
	list, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	w, err := kube.CoreV1().Events(ns).Watch(ctx, metav1.ListOptions{ResourceVersion: list.ResourceVersion,
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String()})
	if err != nil {
		return err
	}
	defer w.Stop()
	writes := make(chan int, 1)
	go func() {
		n := 0
		for ev := range w.ResultChan() {
			if e, ok := ev.Object.(*corev1.Event); ok && e.Source.Component == agentApp && e.InvolvedObject.UID == pod.UID &&
				(ev.Type == watch.Added || ev.Type == watch.Modified) {
				n++
			}
		}
		writes <- n
	}()

	fmt.Printf("burst of %d denied mkdir calls from one container (auditd running: %v)\n\n", o.n, o.auditd)
	start := time.Now()
	// probe mkdir-n prints the last call's answer and exits 1 on an error.
	out, _ := exec.CommandContext(ctx, "kubectl", "--kubeconfig", o.kubeconfig, "-n", ns, "exec", name, "--",
		"/probe", "mkdir-n", "/tmp/x", strconv.Itoa(o.n)).Output()
	burst := time.Since(start)
	if got := strings.TrimSpace(string(out)); got != "EPERM" {
		return fmt.Errorf("probe mkdir-n answered %q, want EPERM", got)
	}

	// Wait for the count to reach the burst, or to stop moving.
	var after *snapshot
	counted, last, lastMove := 0.0, -1.0, time.Now()
	for {
		after, err = scrape(scraper, url)
		if err != nil {
			return err
		}
		counted = after.violations(ns, name) - before.violations(ns, name)
		if counted != last {
			last, lastMove = counted, time.Now()
		}
		if int(counted) >= o.n || time.Since(lastMove) > 15*time.Second {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	countedIn := time.Since(start)
	kernelAfter, err := auditsource.Status()
	if err != nil {
		return err
	}
	// The Event's count catches up with its next update (at most one per
	// DefaultEventUpdateInterval).
	eventCount := int32(0)
	for deadline := time.Now().Add(enricher.DefaultEventUpdateInterval + 10*time.Second); time.Now().Before(deadline); time.Sleep(time.Second) {
		evs, err := kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String()})
		if err != nil {
			return err
		}
		eventCount = 0
		for _, e := range evs.Items {
			if e.Source.Component == agentApp && e.InvolvedObject.UID == pod.UID {
				eventCount += e.Count
			}
		}
		if int(eventCount) >= o.n {
			break
		}
	}
	w.Stop()
	eventWrites := <-writes

	cpu := after.value("process_cpu_seconds_total") - before.value("process_cpu_seconds_total")
	fmt.Printf("  denials made            %d in %s (kubectl exec included)\n", o.n, burst.Round(time.Millisecond))
	fmt.Printf("  seccomp_violations_total +%.0f (all counted %s after the burst began)\n", counted, countedIn.Round(time.Millisecond))
	fmt.Printf("  kernel lost             +%d (AUDIT_GET, auditd pid %d)\n", kernelAfter.Lost-kernelBefore.Lost, kernelAfter.PID)
	for _, m := range []string{"seccomp_operator_agent_audit_records_lost_total", "seccomp_operator_agent_audit_unattributed_total"} {
		fmt.Printf("  %-24s +%.0f\n", strings.TrimPrefix(m, "seccomp_operator_agent_audit_"), after.value(m)-before.value(m))
	}
	fmt.Printf("  Events                  count %d, in %d writes (creates and count updates)\n", eventCount, eventWrites)
	fmt.Printf("  agent CPU               %.2f s, %.3f s per 10,000 records\n", cpu, cpu/counted*10000)
	if len(agentPod.Status.ContainerStatuses) > 0 {
		if pid, err := nodeproc.ContainerPID(agentPod.Status.ContainerStatuses[0].ContainerID); err == nil {
			rss, _ := nodeproc.StatusField(pid, "VmRSS")
			hwm, _ := nodeproc.StatusField(pid, "VmHWM")
			fmt.Printf("  agent memory            RSS %s, peak %s\n", rss, hwm)
		}
	}
	if int(counted) != o.n || kernelAfter.Lost != kernelBefore.Lost {
		return fmt.Errorf("%d denials made, %.0f counted, kernel lost %d", o.n, counted, kernelAfter.Lost-kernelBefore.Lost)
	}
	return nil
}

// startAuditd runs Debian's auditd in the foreground until stop, which
// leaves the kernel's audit switch as it found it. (auditd's log,
// /var/log/audit/, stays: it is what a node with auditd keeps.)
func startAuditd() (stop func(), err error) {
	if _, err := exec.LookPath("auditd"); err != nil {
		return nil, fmt.Errorf("-auditd: auditd is not installed (apt-get install auditd)")
	}
	before, err := auditsource.Status()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("auditd", "-n")
	cmd.Stdout, cmd.Stderr = io.Discard, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start auditd: %w", err)
	}
	time.Sleep(2 * time.Second) // it registers with the kernel
	return func() {
		// auditd stops on SIGTERM (it ignores SIGINT).
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		// auditd leaves auditing enabled; the node had it off.
		if before.Enabled == 0 {
			_ = exec.Command("auditctl", "-e", "0").Run()
		}
	}, nil
}

func agentOf(ctx context.Context, k8s client.Client, node string) (*corev1.Pod, error) {
	var pods corev1.PodList
	if err := k8s.List(ctx, &pods, client.InNamespace(operatorNS), client.MatchingLabels{"app.kubernetes.io/name": agentApp}); err != nil {
		return nil, err
	}
	for i := range pods.Items {
		if pods.Items[i].Spec.NodeName == node && pods.Items[i].Status.PodIP != "" {
			return &pods.Items[i], nil
		}
	}
	return nil, fmt.Errorf("no running agent on node %s", node)
}

func waitRunning(ctx context.Context, k8s client.Client, pod *corev1.Pod) error {
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod); err == nil && pod.Status.Phase == corev1.PodRunning {
			return nil
		}
	}
	return fmt.Errorf("pod %s/%s not Running after 2 minutes", pod.Namespace, pod.Name)
}

func waitGone(ctx context.Context, k8s client.Client, pod *corev1.Pod) error {
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})) {
			return nil
		}
	}
	return fmt.Errorf("pod %s/%s of an earlier run still there after a minute", pod.Namespace, pod.Name)
}

// snapshot is one scrape of the agent's metrics.
type snapshot map[string]*dto.MetricFamily

func scrape(c *http.Client, url string) (*snapshot, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, fmt.Errorf("scrape %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scrape %s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(bufio.NewReader(resp.Body))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", url, err)
	}
	s := snapshot(fams)
	return &s, nil
}

// value sums every series of a counter or gauge (0 if absent).
func (s *snapshot) value(name string) float64 {
	return s.sum(name, nil)
}

// violations sums seccomp_violations_total over the pod's series.
func (s *snapshot) violations(namespace, pod string) float64 {
	return s.sum("seccomp_violations_total", map[string]string{"namespace": namespace, "pod": pod})
}

func (s *snapshot) sum(name string, labels map[string]string) float64 {
	f, ok := (*s)[name]
	if !ok {
		return 0
	}
	total := 0.0
	for _, m := range f.GetMetric() {
		if !matches(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			total += m.Counter.GetValue()
		case m.Gauge != nil:
			total += m.Gauge.GetValue()
		case m.Untyped != nil:
			total += m.Untyped.GetValue()
		}
	}
	return total
}

func matches(m *dto.Metric, labels map[string]string) bool {
	found := 0
	for _, l := range m.GetLabel() {
		if v, ok := labels[l.GetName()]; ok {
			if v != l.GetValue() {
				return false
			}
			found++
		}
	}
	return found == len(labels)
}
