// Command agent is the seccomp-operator's node agent (one per node, as a
// DaemonSet): it installs every SeccompProfile under the kubelet's seccomp
// root and reports the node's state.
package main

import (
	"flag"
	"os"
	goruntime "runtime"
	"runtime/debug"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/agent"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func main() {
	var nodeName, kubeletRoot, metricsAddr, probeAddr, pprofAddr, arch string
	var resync, minStatus time.Duration
	var memLimit int64
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "name of this node (default $NODE_NAME)")
	flag.StringVar(&kubeletRoot, "kubelet-root", "/var/lib/kubelet", "the kubelet's --root-dir; profiles go to <root>/seccomp")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of the Prometheus metrics endpoint (0 disables it)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes (0 disables them)")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "address of the Go profiling endpoint (0 disables it)")
	flag.StringVar(&arch, "arch", goruntime.GOARCH, "the node's architecture; profiles are compiled for its family before they are installed")
	flag.DurationVar(&resync, "resync-interval", time.Minute, "full resync of the profile files even without events (drift the file watch missed)")
	flag.Int64Var(&memLimit, "memory-limit", 0, "soft limit of the Go runtime's memory in bytes, 0 for none (GOMEMLIMIT wins when set); a limit close to the live heap keeps RSS lower but makes the GC run constantly during bulk applies")
	flag.DurationVar(&minStatus, "min-status-interval", agent.DefaultMinStatusInterval, "minimum time between two writes of the node state")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("agent")

	if os.Getenv("GOMEMLIMIT") == "" && memLimit > 0 {
		debug.SetMemoryLimit(memLimit)
	}
	if nodeName == "" {
		log.Error(nil, "no node name: set --node-name or $NODE_NAME")
		os.Exit(2)
	}
	a, ok := syscalls.Get(arch)
	if !ok {
		log.Error(nil, "unknown architecture", "arch", arch)
		os.Exit(2)
	}
	// Only the types the agent reads: registering all of client-go's
	// costs megabytes of resident memory on every node.
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		log.Error(err, "register core types")
		os.Exit(1)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		log.Error(err, "register seccomp-operator types")
		os.Exit(1)
	}
	mgr, err := ctrl.NewManager(ctrl.GetConfigOrDie(), ctrl.Options{
		Scheme:                 scheme,
		Cache:                  agent.CacheOptions(nodeName),
		Metrics:                metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress: probeAddr,
		PprofBindAddress:       pprofAddr,
	})
	if err != nil {
		log.Error(err, "create manager")
		os.Exit(1)
	}
	r := &agent.NodeReconciler{
		Client:            mgr.GetClient(),
		APIReader:         mgr.GetAPIReader(),
		Installer:         &agent.Installer{Root: kubeletRoot},
		NodeName:          nodeName,
		Family:            a.Native,
		MinStatusInterval: minStatus,
		Log:               log,
	}
	if err := r.SetupWithManager(mgr, resync); err != nil {
		log.Error(err, "set up the node reconciler")
		os.Exit(1)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "add health check")
		os.Exit(1)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		log.Error(err, "add readiness check")
		os.Exit(1)
	}
	log.Info("starting", "node", nodeName, "kubeletRoot", kubeletRoot, "family", a.Native)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "run agent")
		os.Exit(1)
	}
}
