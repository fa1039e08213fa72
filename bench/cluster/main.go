// Command cluster benchmarks the operator on the real cluster of make up:
// how long a user waits from applying a new SeccompProfile to a pod that
// uses it being Running, and how much memory the agent and the manager use
// on a real node.
//
// Each try creates a new profile and, in the same moment, a pod that
// references it (what `kubectl apply -f dir/` does with both manifests), and
// records when the profile is Installed on the node and when the pod is
// Running. A second series first waits for Installed and then creates the
// pod, which separates the operator's delivery from the kubelet's own pod
// start. Tries run one after another; every object is deleted after its try.
//
//	make up && make bench-cluster          (TRIES, default 50)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/stats"
	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
	"github.com/seccomp-operator/seccomp-operator/test/probepod"
)

const ns = "seccomp-bench"

func main() {
	tries, kubeconfig, err := parseFlags(os.Args[1:])
	if err != nil {
		os.Exit(2) // the flag package has printed the error and the usage
	}
	// Errors only: without a logger controller-runtime prints a stack
	// trace the first time its client logs (an apiserver warning).
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if err := run(tries, kubeconfig); err != nil {
		fmt.Fprintf(os.Stderr, "bench-cluster: %v\n", err)
		os.Exit(1)
	}
}

// parseFlags reads the command line into a flag set of its own: the global
// flag.CommandLine already holds controller-runtime's -kubeconfig (its
// client/config package registers it at init), and defining it there a
// second time panics before main runs a line.
func parseFlags(args []string) (tries int, kubeconfig string, err error) {
	fs := flag.NewFlagSet("bench-cluster", flag.ContinueOnError)
	fs.IntVar(&tries, "tries", 50, "tries per series")
	fs.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the make up cluster")
	err = fs.Parse(args)
	return tries, kubeconfig, err
}

func run(tries int, kubeconfig string) error {
	if kubeconfig == "" {
		kubeconfig = "/var/lib/seccomp-operator-up/admin.kubeconfig"
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("cluster (run make up first): %w", err)
	}
	cfg.QPS, cfg.Burst = 200, 400 // polling every 20 ms must not be throttled
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline"}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}

	fmt.Printf("apply → Running, %d tries per series, one at a time\n\n", tries)
	together := series{name: "profile and pod applied together"}
	after := series{name: "pod applied once the profile is Installed"}
	for i := 0; i < tries; i++ {
		if err := together.try(ctx, k8s, fmt.Sprintf("bench-together-%02d", i), false); err != nil {
			return err
		}
		if err := after.try(ctx, k8s, fmt.Sprintf("bench-after-%02d", i), true); err != nil {
			return err
		}
	}
	together.print()
	after.print()

	fmt.Println("\nmemory of the operator on the node (container processes, from /proc)")
	for _, c := range []struct{ label, app string }{
		{"agent", "seccomp-operator-agent"}, {"manager", "seccomp-operator-manager"},
	} {
		var pods corev1.PodList
		if err := k8s.List(ctx, &pods, client.InNamespace("seccomp-operator"),
			client.MatchingLabels{"app.kubernetes.io/name": c.app}); err != nil || len(pods.Items) == 0 {
			return fmt.Errorf("%s pods: %v (%d)", c.label, err, len(pods.Items))
		}
		// Every replica (the manager runs two: one leads, both serve the
		// webhooks).
		for _, pod := range pods.Items {
			if len(pod.Status.ContainerStatuses) == 0 {
				continue
			}
			pid, err := nodeproc.ContainerPID(pod.Status.ContainerStatuses[0].ContainerID)
			if err != nil {
				return err
			}
			rss, hwm := status(pid, "VmRSS"), status(pid, "VmHWM")
			fmt.Printf("  %-8s %s: RSS %s, peak %s\n", c.label, pod.Name, rss, hwm)
		}
	}
	return nil
}

type series struct {
	name                 string
	file, installed      []time.Duration
	running              []time.Duration
	createContainerFails int
}

// try creates a profile and a pod that uses it and measures, from the
// profile's create request, when the profile is Installed and when the pod
// is Running. With waitFirst the pod is created only once it is Installed.
func (s *series) try(ctx context.Context, k8s client.Client, name string, waitFirst bool) error {
	p := probepod.DenyMkdir(name)
	pod := probepod.Pod(ns, name, name)
	defer func() {
		_ = k8s.Delete(ctx, pod, client.GracePeriodSeconds(0))
		_ = k8s.Delete(ctx, p)
		// Wait until the pod is gone so tries do not overlap.
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pod), &corev1.Pod{})) {
				return
			}
		}
	}()

	start := time.Now()
	if err := k8s.Create(ctx, p); err != nil {
		return err
	}
	var onNode, installed, running time.Duration
	nodeFile := filepath.Join("/var/lib/kubelet/seccomp/operator", name+".json")
	podCreated := false
	if !waitFirst {
		if err := k8s.Create(ctx, pod); err != nil {
			return err
		}
		podCreated = true
	}
	failed := false
	for deadline := start.Add(3 * time.Minute); installed == 0 || running == 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: not Running after 3 minutes (installed after %s)", name, installed)
		}
		if onNode == 0 {
			if _, err := os.Stat(nodeFile); err == nil {
				onNode = time.Since(start)
			}
		}
		if installed == 0 {
			var cur v1alpha1.SeccompProfile
			if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), &cur); err == nil {
				if c := meta.FindStatusCondition(cur.Status.Conditions, "Installed"); c != nil && c.Status == metav1.ConditionTrue {
					installed = time.Since(start)
				}
			}
		}
		if !podCreated {
			if installed == 0 {
				continue
			}
			if err := k8s.Create(ctx, pod); err != nil {
				return err
			}
			podCreated = true
		}
		var cur corev1.Pod
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), &cur); err == nil {
			for _, cs := range cur.Status.ContainerStatuses {
				if w := cs.State.Waiting; w != nil && w.Reason == "CreateContainerError" {
					failed = true
				}
			}
			if cur.Status.Phase == corev1.PodRunning {
				running = time.Since(start)
			}
		}
	}
	if onNode == 0 || onNode > installed {
		onNode = installed // written between two polls
	}
	s.file = append(s.file, onNode)
	s.installed = append(s.installed, installed)
	s.running = append(s.running, running)
	if failed {
		s.createContainerFails++
	}
	return nil
}

func (s *series) print() {
	slices.Sort(s.file)
	slices.Sort(s.installed)
	slices.Sort(s.running)
	fmt.Printf("%s (%d tries)\n", s.name, len(s.running))
	fmt.Printf("  file on the node               p50 %-8s p99 %-8s max %s\n", pct(s.file, 50), pct(s.file, 99), pct(s.file, 100))
	fmt.Printf("  profile Installed on the node  p50 %-8s p99 %-8s max %s\n", pct(s.installed, 50), pct(s.installed, 99), pct(s.installed, 100))
	fmt.Printf("  pod Running                    p50 %-8s p99 %-8s max %s\n", pct(s.running, 50), pct(s.running, 99), pct(s.running, 100))
	fmt.Printf("  tries where the kubelet first failed to find the file (CreateContainerError): %d\n", s.createContainerFails)
}

func pct(sorted []time.Duration, p int) time.Duration {
	return stats.Percentile(sorted, p).Round(time.Millisecond)
}

// status returns a kB field of /proc/PID/status (VmRSS, VmHWM) in MiB.
func status(pid int, field string) string {
	kib, err := nodeproc.StatusKiB(pid, field)
	if err != nil {
		return err.Error()
	}
	return fmt.Sprintf("%.1f MiB", float64(kib)/1024)
}
