// Command workloads measures the recording proof's workloads on the make up
// cluster (test/workloads: nginx + wrk, PostgreSQL + pgbench, Redis +
// redis-benchmark), each unconfined and under the predefined profile of its
// class, one after the other, and prints each load's throughput and errors.
// It is the baseline a recorded profile's throughput is compared with.
//
//	make up && go run ./bench/workloads [-duration 10s] [-only nginx,redis]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.uber.org/zap/zapcore"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/seccomp-operator/seccomp-operator/test/workloads"
)

// ns admits Unconfined pods (no Pod Security label: privileged).
const ns = "seccomp-bench-workloads"

func main() {
	var duration time.Duration
	var kubeconfig, kubectl, only string
	// Its own flag set: controller-runtime registers -kubeconfig on the
	// global one.
	fs := flag.NewFlagSet("bench-workloads", flag.ExitOnError)
	fs.DurationVar(&duration, "duration", 10*time.Second, "length of each load")
	fs.StringVar(&kubeconfig, "kubeconfig", os.Getenv("KUBECONFIG"), "kubeconfig of the make up cluster")
	fs.StringVar(&kubectl, "kubectl", "bin/kubectl", "kubectl (make up links it at bin/kubectl)")
	fs.StringVar(&only, "only", "", "comma-separated workloads to run (default all)")
	_ = fs.Parse(os.Args[1:])
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if kubeconfig == "" {
		kubeconfig = "/var/lib/seccomp-operator-up/admin.kubeconfig"
	}
	if err := run(kubeconfig, kubectl, only, duration); err != nil {
		fmt.Fprintf(os.Stderr, "bench-workloads: %v\n", err)
		os.Exit(1)
	}
}

func run(kubeconfig, kubectl, only string, d time.Duration) error {
	kubectl, err := filepath.Abs(kubectl)
	if err != nil {
		return err
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return fmt.Errorf("cluster (run make up first): %w", err)
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	loader, err := workloads.StartLoader(ctx, k8s, kubectl, kubeconfig, ns)
	if err != nil {
		return err
	}
	defer func() { _ = loader.Stop(context.Background(), k8s) }()
	failed := false
	for _, w := range workloads.All(ns) {
		if only != "" && !strings.Contains(","+only+",", ","+w.Name+",") {
			continue
		}
		for _, mode := range []struct {
			name    string
			seccomp *corev1.SeccompProfile
		}{{"unconfined", workloads.Unconfined()}, {w.Predefined, workloads.Localhost(w.Predefined)}} {
			w.Seccomp = mode.seccomp
			r, err := measure(ctx, k8s, loader, w, d)
			if err != nil {
				return fmt.Errorf("%s %s: %w", w.Name, mode.name, err)
			}
			fmt.Printf("%-9s %-11s %s\n", w.Name, mode.name, r)
			for cmd, rps := range r.Commands {
				fmt.Printf("%-9s %-11s   %s %.0f requests/s\n", w.Name, mode.name, cmd, rps)
			}
			if r.Errors != 0 {
				failed = true
				fmt.Printf("%s\n", r.Output)
			}
		}
	}
	if failed {
		return fmt.Errorf("a load saw errors")
	}
	return nil
}

// measure runs w fresh (deployed, ready, loaded, removed) so that each
// mode starts from the same state.
func measure(ctx context.Context, k8s client.Client, l *workloads.Loader, w *workloads.Workload, d time.Duration) (workloads.Result, error) {
	if err := workloads.Deploy(ctx, k8s, w); err != nil {
		return workloads.Result{}, err
	}
	defer func() { _ = workloads.Remove(context.Background(), k8s, w) }()
	if _, err := workloads.WaitReady(ctx, k8s, w, 120*time.Second); err != nil {
		return workloads.Result{}, err
	}
	return w.Load(ctx, k8s, l, d)
}
