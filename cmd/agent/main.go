// Command agent is the seccomp-operator's node agent (one per node, as a
// DaemonSet): it installs every SeccompProfile under the kubelet's seccomp
// root and reports the node's state.
//
// It is built on client-go alone (no controller-runtime), which keeps its
// resident memory, paid on every node, low: see docs/benchmarks.md §4.
package main

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"os/signal"
	goruntime "runtime"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"

	"github.com/seccomp-operator/seccomp-operator/internal/agent"
	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
	"github.com/seccomp-operator/seccomp-operator/internal/metricsauth"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/procfs"
	"github.com/seccomp-operator/seccomp-operator/internal/recorder"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func main() {
	var nodeName, kubeletRoot, kubeconfig, metricsAddr, probeAddr, pprofAddr, arch, seccompFlags, runtimeBinaries string
	var resync, minStatus time.Duration
	var memLimit int64
	var verbosity, gcPercent, maxProcs int
	var enrich, record bool
	var procRoot, recordSource, bpfPinPath string
	var maxNamespaces int
	flag.StringVar(&nodeName, "node-name", os.Getenv("NODE_NAME"), "name of this node (default $NODE_NAME)")
	flag.StringVar(&kubeletRoot, "kubelet-root", "/var/lib/kubelet", "the kubelet's --root-dir; profiles go to <root>/seccomp")
	flag.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, the in-cluster service account, then ~/.kube/config)")
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint, HTTPS with a bearer token of a user allowed to get /metrics (ClusterRole seccomp-operator-metrics-reader); 0 disables it")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes (0 disables them)")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "address of the Go profiling endpoint (0 disables it)")
	flag.StringVar(&arch, "arch", goruntime.GOARCH, "the node's architecture; profiles are compiled for its family before they are installed")
	flag.DurationVar(&resync, "resync-interval", time.Minute, "full resync of the profile files even without events (drift the file watch missed)")
	flag.Int64Var(&memLimit, "memory-limit", 0, "soft limit of the Go runtime's memory in bytes; 0: automatic, 26 MiB or 3 times the live heap, whichever is higher; -1: none (GOMEMLIMIT wins when set)")
	flag.DurationVar(&minStatus, "min-status-interval", agent.DefaultMinStatusInterval, "minimum time between two writes of the node state, per 100 of its entries (a node with 1000 profiles writes at most every 10 intervals during a burst)")
	flag.IntVar(&gcPercent, "gc-percent", 50, "the Go collector's GOGC (GOGC wins when set): heap growth allowed over the live heap before a collection; Go's default of 100 cost about 7 MiB more RSS at 1000 profiles")
	flag.IntVar(&maxProcs, "max-procs", 1, "GOMAXPROCS (GOMAXPROCS wins when set); 0: Go's default (the CPUs, or a CPU limit rounded up to at least 2). Passes run one at a time; in the 100-node benchmark 1 gave 1-3 MiB less peak RSS than 2 (docs/benchmarks.md §4)")
	flag.StringVar(&seccompFlags, "runtime-seccomp-flags", runtimeflags.SettingAuto, "whether the node's container runtime accepts a profile's seccomp flags (runc before 1.2.0 refuses them): auto (read the runtime binaries of --runtime-binaries), supported or unsupported; profiles with flags are installed only where supported")
	flag.StringVar(&runtimeBinaries, "runtime-binaries", strings.Join(runtimeflags.DefaultBinaries, ","), "comma-separated paths where --runtime-seccomp-flags=auto looks for the node's runtime binaries (read, never run); all that exist must accept flags")
	flag.BoolVar(&enrich, "enricher", true, "run the enricher: seccomp records to metrics (seccomp_violations_total) and Events, and every container's real seccomp mode in the node state")
	flag.StringVar(&procRoot, "proc-root", "/proc", "the host's /proc (the agent runs in the host's pid namespace), where the enricher finds each record's container and each container's seccomp mode")
	flag.StringVar(&recordSource, "record-source", sourceAuditNetlink, "where the enricher reads the kernel's seccomp records: "+sourceAuditNetlink+" (the audit multicast group; needs CAP_AUDIT_READ and the host network) or none")
	flag.BoolVar(&record, "recorder", true, "run the recorder: the syscalls of the pods ProfileRecordings select, into the node state (eBPF while a recording with recorder ebpf records; the enricher's records for log, complain and enforce)")
	flag.StringVar(&bpfPinPath, "bpf-pin-path", defaultPinPath(), "bpffs directory where the eBPF recorder pins its maps so that an agent restart loses nothing (\"\" pins nothing; default /sys/fs/bpf/seccomp-operator when bpffs is mounted)")
	flag.IntVar(&maxNamespaces, "recorder-max-namespaces", recorder.DefaultMaxNamespaces, "mount namespaces (containers and the host's) the eBPF recorder's map holds; further ones are counted in status.recorder.lost")
	flag.IntVar(&verbosity, "v", 0, "log verbosity (1 logs every pass that changed files)")
	flag.Parse()

	log := logr.FromSlogHandler(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.Level(-verbosity)})).WithName("agent")
	klog.SetLogger(log.WithName("client-go"))
	fail := func(err error, msg string, kv ...any) {
		log.Error(err, msg, kv...)
		os.Exit(1)
	}
	var afterPass func()
	if os.Getenv("GOMEMLIMIT") == "" {
		switch {
		case memLimit > 0:
			debug.SetMemoryLimit(memLimit)
		case memLimit == 0:
			afterPass = agent.AutoMemoryLimit(agent.DefaultMemoryFloor)
			afterPass()
		}
	}
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if nodekube.Disabled(pprofAddr) {
		// Nobody can read the heap profile: do not sample it. Each
		// sample walks the allocating stack, and the runtime keeps a
		// hash table of every sampled stack for the process's life.
		goruntime.MemProfileRate = 0
	}
	if os.Getenv("GOMAXPROCS") == "" && maxProcs > 0 {
		goruntime.GOMAXPROCS(maxProcs)
	}
	if nodeName == "" {
		fail(nil, "no node name: set --node-name or $NODE_NAME")
	}
	a, ok := syscalls.Get(arch)
	if !ok {
		fail(nil, "unknown architecture", "arch", arch)
	}
	flagsSupport, autoFlags, err := runtimeflags.ParseSetting(seccompFlags)
	if err != nil {
		fail(err, "bad flag")
	}
	detection := runtimeflags.Fixed(flagsSupport)
	if autoFlags {
		detection = runtimeflags.Detect(strings.Split(runtimeBinaries, ","))
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = kubeconfig
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		fail(err, "load the cluster's client configuration")
	}
	cfg.QPS, cfg.Burst = 20, 30
	node, err := nodekube.New(cfg, nodeName)
	if err != nil {
		fail(err, "create the cluster clients")
	}
	cluster := agent.NewKubeCluster(node)
	r := &agent.NodeReconciler{
		Cluster:           cluster,
		Installer:         &agent.Installer{Root: kubeletRoot},
		NodeName:          nodeName,
		Family:            a.Native,
		SeccompFlags:      detection,
		MinStatusInterval: minStatus,
		AfterPass:         afterPass,
		Log:               log,
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	serveErrs := make(chan error, 3)
	if !nodekube.Disabled(metricsAddr) {
		review, err := metricsauth.APIReview(cfg)
		if err != nil {
			fail(err, "metrics endpoint")
		}
		tlsCfg, err := metricsauth.SelfSignedTLS(nodeName)
		if err != nil {
			fail(err, "metrics endpoint")
		}
		if err := nodekube.ServeTLS(ctx, metricsAddr, metricsauth.Authorized(nodekube.MetricsHandler(), review), tlsCfg, serveErrs); err != nil {
			fail(err, "serve metrics")
		}
	}
	if err := nodekube.Serve(ctx, probeAddr, nodekube.ProbeHandler(cluster.Synced), serveErrs); err != nil {
		fail(err, "serve probes")
	}
	if err := nodekube.Serve(ctx, pprofAddr, nodekube.PprofHandler(), serveErrs); err != nil {
		fail(err, "serve pprof")
	}
	failed := make(chan error, 1)
	go func() {
		failed <- <-serveErrs
		stop()
	}()
	var rec *recorder.Recorder
	var procCache *procfs.Cache
	if record {
		rec = recorder.New(node, openKernel, recorder.Options{MaxNamespaces: maxNamespaces, PinPath: bpfPinPath}, nil, log.WithName("recorder"))
		rec.Probe = probeKernel
	}
	if enrich {
		e := &enricher.Enricher{
			Node:   node,
			Parse:  enricher.ParseAudit,
			Events: enricher.NewEvents(enricher.KubeEvents{Core: node.Core}, nodeName, log.WithName("events")),
			Log:    log.WithName("enricher"),
			Probes: &enricher.Probes{KubeletRoot: kubeletRoot},
		}
		proc := enricher.NewProc(procRoot)
		e.Procs, e.Kernel = proc, proc
		procCache = proc.Cache
		if rec != nil {
			e.OnViolation = rec.Violation
		}
		// A source that cannot start (no capability, no audit in the
		// kernel) never stops the installer: the node state says why.
		e.Source, e.SourceErr = newSource(recordSource)
		if e.SourceErr != nil {
			log.Error(e.SourceErr, "no seccomp records on this node; the enricher reports the kernel state only")
		}
		go func() {
			if err := e.Run(ctx); err != nil {
				log.Error(err, "enricher stopped; the installer goes on")
			}
		}()
	}
	if rec != nil {
		// One pid → container cache for the enricher and the recorder.
		rec.Procs = recorder.NewProc(procRoot, procCache)
		go func() {
			if err := rec.Run(ctx); err != nil {
				log.Error(err, "recorder stopped; the installer goes on")
			}
		}()
	}
	log.Info("starting", "node", nodeName, "kubeletRoot", kubeletRoot, "family", a.Native,
		"runtimeSeccompFlags", detection.Support, "runtimeSeccompFlagsHow", detection.How, "enricher", enrich, "recordSource", recordSource, "recorder", record, "bpfPinPath", bpfPinPath)
	if err := r.Run(ctx, resync); err != nil {
		fail(err, "run agent")
	}
	select {
	case err := <-failed:
		fail(err, "endpoint failed")
	default:
	}
}
