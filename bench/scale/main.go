// Command scale is the control plane's scale benchmark: a real kube-apiserver
// and etcd, the manager, and N agent processes simulating N nodes (each its
// own kubelet root on tmpfs and node name), then P profiles applied at once.
//
// It reports the time until every file is installed (and verified byte for
// byte against the manager's rendering), p50/p99 from create to installed on
// every node (file mtime minus the start of the create request), manager
// heap and RSS, per-agent RSS, apiserver requests per profile, writes during
// an idle window, and one agent installing all profiles on the real disk.
//
//	KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh) go run ./bench/scale -nodes 100 -profiles 1000
//
// `make bench-scale` runs it. It is a benchmark, not a test: it prints
// numbers and the targets; docs/benchmarks.md records them.
//
// For looking inside a run: SCALE_KEEP=1 keeps the work directory (logs,
// kubeconfig) in /dev/shm; SCALE_PPROF=host:port makes agent 0 serve Go
// profiles there (and waits 60 s at the end); SCALE_APISERVER_PROFILE=file
// writes a CPU profile of kube-apiserver from the first create, 60 s or
// SCALE_APISERVER_PROFILE_SECONDS;
// SCALE_LATENCIES=file writes each file's times (node, profile, create
// started, create answered, file mtime; Unix nanoseconds), one per line.
package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	toolscache "k8s.io/client-go/tools/cache"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/apiprofile"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/podcreate"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/stats"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
	"github.com/seccomp-operator/seccomp-operator/test/metricsreader"
	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
)

var (
	nodes      = flag.Int("nodes", 100, "simulated nodes (agent processes)")
	profiles   = flag.Int("profiles", 1000, "profiles applied at once")
	idle       = flag.Duration("idle", 60*time.Second, "idle window in which writes are counted")
	binDir     = flag.String("bin", "bin", "directory holding the manager and agent binaries (make build)")
	tmpfsDir   = flag.String("tmpfs", "/dev/shm", "tmpfs directory for the simulated kubelet roots")
	diskDir    = flag.String("disk", "/var/tmp", "directory on a real disk for the single-agent install")
	workers    = flag.Int("create-workers", 32, "concurrent create requests")
	timeout    = flag.Duration("timeout", 5*time.Minute, "give up waiting for convergence after this long")
	agentArgs  = flag.String("agent-args", "", "extra arguments of every agent, space-separated (e.g. \"--gc-percent=100\" to compare)")
	agentProcs = flag.Int("agent-gomaxprocs", 0, "GOMAXPROCS of each agent, as the GOMAXPROCS variable (0: the agent's own default, --max-procs=1; pass -agent-args=--max-procs=0 for Go's default)")
	nameStart  = "bench-"
)

func main() {
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.Level(zapcore.ErrorLevel)))
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "scale:", err)
		os.Exit(1)
	}
}

type proc struct {
	name string
	cmd  *exec.Cmd
}

func run() error {
	// On Ctrl-C, return through the deferred cleanup (stop the control
	// plane, remove the roots) instead of leaking processes.
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return fmt.Errorf("KUBEBUILDER_ASSETS is not set: run with KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh)")
	}
	for _, b := range []string{"manager", "agent"} {
		if _, err := os.Stat(filepath.Join(*binDir, b)); err != nil {
			return fmt.Errorf("%s binary: %w (run make build)", b, err)
		}
	}

	// Control plane.
	env := &envtest.Environment{CRDDirectoryPaths: []string{"config/crd/bases"}, ErrorIfCRDPathMissing: true}
	t0 := time.Now()
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start control plane: %w", err)
	}
	defer env.Stop()
	logf("control plane up in %v", since(t0))
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp(*tmpfsDir, "seccomp-scale-")
	if err != nil {
		return err
	}
	if os.Getenv("SCALE_KEEP") == "" {
		defer os.RemoveAll(work) // runs after killAll (deferred later)
	}
	kcPath := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	kube := kubernetes.NewForConfigOrDie(cfg)

	var procs []*proc
	killAll := func() {
		for _, p := range procs {
			_ = p.cmd.Process.Kill()
			_ = p.cmd.Wait()
		}
		procs = nil
	}
	defer killAll()
	start := func(name string, args ...string) (*proc, error) {
		cmd := exec.Command(filepath.Join(*binDir, name), args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
		if name == "agent" && *agentProcs > 0 {
			cmd.Env = append(cmd.Env, fmt.Sprintf("GOMAXPROCS=%d", *agentProcs))
		}
		// Children die with this program, however it ends.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		logFile, err := os.Create(filepath.Join(work, strings.ReplaceAll(strings.Join(append([]string{name}, args[:1]...), "_"), "/", "_")+".log"))
		if err != nil {
			return nil, err
		}
		cmd.Stdout, cmd.Stderr = logFile, logFile
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("start %s: %w", name, err)
		}
		p := &proc{name: name, cmd: cmd}
		procs = append(procs, p)
		return p, nil
	}

	// The manager.
	metricsPort, err := podcreate.FreePort()
	if err != nil {
		return err
	}
	mgrArgs := []string{"--metrics-bind-address=127.0.0.1:" + strconv.Itoa(metricsPort), "--health-probe-bind-address=0"}
	if help, _ := exec.Command(filepath.Join(*binDir, "manager"), "--help").CombinedOutput(); bytes.Contains(help, []byte("-webhooks")) {
		mgrArgs = append(mgrArgs, "--webhooks=false") // no admission in this measurement
	}
	mgr, err := start("manager", mgrArgs...)
	if err != nil {
		return err
	}
	// The metrics are served over HTTPS to a reader's token, as to a
	// cluster's Prometheus.
	scraper, err := metricsreader.Client(ctx, kube, metricsreader.RoleFile, "default", "bench-metrics-reader")
	if err != nil {
		return err
	}
	var mgrHeapMax atomic.Int64
	go sampleHeap(ctx, scraper, fmt.Sprintf("https://127.0.0.1:%d/metrics", metricsPort), &mgrHeapMax)

	// The agents.
	t0 = time.Now()
	agents := make([]*proc, *nodes)
	roots := make([]string, *nodes)
	// The simulated nodes share this host's bpffs, and this program kills
	// its agents: pinned eBPF recorder maps would be one set for all of
	// them, left behind for the next run's agents to take over. Each
	// simulated node pins nothing, as a node without bpffs.
	var noPins []string
	if help, _ := exec.Command(filepath.Join(*binDir, "agent"), "--help").CombinedOutput(); bytes.Contains(help, []byte("-bpf-pin-path")) {
		noPins = []string{"--bpf-pin-path="}
	}
	for i := range *nodes {
		node := fmt.Sprintf("bench-node-%03d", i)
		roots[i] = filepath.Join(work, node)
		// Simulated nodes have no runtime binaries to read: they install
		// as a node with a current runc does (the operator's LOG flag).
		args := []string{"--node-name=" + node, "--kubelet-root=" + roots[i], "--metrics-bind-address=0", "--health-probe-bind-address=0", "--runtime-seccomp-flags=supported"}
		args = append(args, noPins...)
		args = append(args, strings.Fields(*agentArgs)...)
		if i == 0 && os.Getenv("SCALE_PPROF") != "" {
			args = append(args, "--pprof-bind-address="+os.Getenv("SCALE_PPROF"))
		}
		if agents[i], err = start("agent", args...); err != nil {
			return err
		}
	}

	// Watch node states: when each node reports every profile Installed
	// with the expected hash, and how many writes happen when idle.
	informers, err := cache.New(cfg, cache.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	w := &watcher{complete: map[string]time.Time{}}
	for _, obj := range []client.Object{&v1alpha1.SeccompNodeStatus{}, &v1alpha1.SeccompProfile{}} {
		inf, err := informers.GetInformer(ctx, obj)
		if err != nil {
			return err
		}
		if _, err := inf.AddEventHandler(w.handler()); err != nil {
			return err
		}
	}
	go func() { _ = informers.Start(ctx) }()
	informers.WaitForCacheSync(ctx)
	if err := waitFor(ctx, 2*time.Minute, func() bool { return w.nodeCount() == *nodes }); err != nil {
		return fmt.Errorf("agents did not all report a node state: %d of %d", w.nodeCount(), *nodes)
	}
	logf("%d agents up and reporting in %v", *nodes, since(t0))

	// Apply the profiles at once.
	objs := generate(*profiles)
	cpuBefore := cpuByComponent()
	reqBefore, closedBefore, err := apiserverRequests(ctx, kube)
	if err != nil {
		return err
	}
	// SCALE_APISERVER_PROFILE=file: a CPU profile of kube-apiserver from
	// the first create (go tool pprof), to see where its share goes.
	apiProfileFor := 60 * time.Second
	if v, err := strconv.Atoi(os.Getenv("SCALE_APISERVER_PROFILE_SECONDS")); err == nil && v > 0 {
		apiProfileFor = time.Duration(v) * time.Second
	}
	apiProfiled := apiprofile.Start(ctx, cfg, apiProfileFor, os.Getenv("SCALE_APISERVER_PROFILE"))
	// created is when each create request started, stored when its
	// response came: the breakdown below separates the apiserver's time
	// to accept a profile from the agents' time to install it.
	created, stored := make([]time.Time, len(objs)), make([]time.Time, len(objs))
	next := make(chan int)
	var wg sync.WaitGroup
	var createErr atomic.Value
	tApply := time.Now()
	for range *workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				created[k] = time.Now()
				if err := c.Create(ctx, objs[k]); err != nil {
					createErr.Store(err)
				}
				stored[k] = time.Now()
			}
		}()
	}
	for k := range objs {
		next <- k
	}
	close(next)
	wg.Wait()
	if err, _ := createErr.Load().(error); err != nil {
		return fmt.Errorf("create profiles: %w", err)
	}
	applyDur := time.Since(tApply)
	logf("%d profiles created in %v", len(objs), applyDur.Round(time.Millisecond))

	// Expected content, rendered as the manager does, from the API.
	want := map[string]render.Prepared{}
	hashes := map[string]string{}
	for _, o := range objs {
		prep, err := render.Prepare(ctx, controller.BaseLookup(c), o, []string{"x86_64", "aarch64"}, true)
		if err != nil || prep.Problem != "" {
			return fmt.Errorf("render %s: %v %s", o.Name, err, prep.Problem)
		}
		want[o.Name] = prep
		hashes[o.Name] = prep.Hash
	}
	w.expect(hashes)
	if err := waitFor(ctx, *timeout, func() bool { return w.completeCount() == *nodes }); err != nil {
		return fmt.Errorf("not converged after %v: %d of %d nodes report every profile installed", *timeout, w.completeCount(), *nodes)
	}
	statusDone := time.Since(tApply)
	logf("every node reports every profile installed after %v", statusDone.Round(time.Millisecond))

	// Verify every file and collect create -> installed latencies.
	var lat, afterStored []time.Duration
	var lastInstall time.Time
	var times bytes.Buffer // SCALE_LATENCIES
	for i, root := range roots {
		for k, o := range objs {
			p := nodepath.Abs(root, profilePath(o.Name))
			b, err := os.ReadFile(p)
			if err != nil {
				return fmt.Errorf("node %d: %w", i, err)
			}
			if !bytes.Equal(b, want[o.Name].Content) {
				return fmt.Errorf("node %d: %s differs from the rendered profile", i, p)
			}
			st, err := os.Stat(p)
			if err != nil {
				return err
			}
			lat = append(lat, st.ModTime().Sub(created[k]))
			afterStored = append(afterStored, st.ModTime().Sub(stored[k]))
			fmt.Fprintf(&times, "%d %s %d %d %d\n", i, o.Name, created[k].UnixNano(), stored[k].UnixNano(), st.ModTime().UnixNano())
			if st.ModTime().After(lastInstall) {
				lastInstall = st.ModTime()
			}
		}
	}
	if f := os.Getenv("SCALE_LATENCIES"); f != "" {
		if err := os.WriteFile(f, times.Bytes(), 0o644); err != nil {
			return err
		}
	}
	slices.Sort(lat)
	slices.Sort(afterStored)
	createLat := make([]time.Duration, len(objs))
	for k := range objs {
		createLat[k] = stored[k].Sub(created[k])
	}
	slices.Sort(createLat)
	filesDone := lastInstall.Sub(tApply)
	cpuFiles := cpuByComponent()
	reqAfter, closedAfter, err := apiserverRequests(ctx, kube)
	if err != nil {
		return err
	}
	closedWatchers := closedAfter - closedBefore

	// Profiles' own status: Installed on every node.
	if err := waitFor(ctx, *timeout, func() bool { return w.profilesInstalled(*nodes) >= len(objs) }); err != nil {
		logf("profile statuses: %d of %d report Installed on all nodes", w.profilesInstalled(*nodes), len(objs))
	}
	aggregateDone := time.Since(tApply)
	cpuRollout := cpuByComponent()

	// Idle: nothing changes, nothing may be written.
	time.Sleep(5 * time.Second)
	cpuIdleBefore := cpuByComponent()
	idleBefore, _, err := apiserverRequests(ctx, kube)
	if err != nil {
		return err
	}
	w.resetWrites()
	time.Sleep(*idle)
	idleAfter, _, err := apiserverRequests(ctx, kube)
	if err != nil {
		return err
	}
	idleNodeWrites, idleProfileWrites := w.writes()
	idleDelta := idleAfter.sub(idleBefore)
	idleMutations := idleDelta.mutations()

	cpuIdleAfter := cpuByComponent()

	// Memory.
	mgrRSS := vmHWM(mgr.cmd.Process.Pid)
	var agentRSS []int64
	for _, a := range agents {
		agentRSS = append(agentRSS, vmHWM(a.cmd.Process.Pid))
	}
	slices.Sort(agentRSS)

	// One agent on the real disk, installing everything from its start.
	diskRoot, err := os.MkdirTemp(*diskDir, "seccomp-scale-disk-")
	if err != nil {
		return err
	}
	defer func() {
		killAll() // the agent must be gone before its root is removed
		_ = os.RemoveAll(diskRoot)
	}()
	tDisk := time.Now()
	if _, err := start("agent", append([]string{"--node-name=bench-disk", "--kubelet-root=" + diskRoot, "--metrics-bind-address=0", "--health-probe-bind-address=0", "--runtime-seccomp-flags=supported"}, noPins...)...); err != nil {
		return err
	}
	if err := waitFor(ctx, *timeout, func() bool { return w.isComplete("bench-disk") }); err != nil {
		return fmt.Errorf("disk agent did not converge")
	}
	var diskLast time.Time
	for _, o := range objs {
		st, err := os.Stat(nodepath.Abs(diskRoot, profilePath(o.Name)))
		if err != nil {
			return err
		}
		if st.ModTime().After(diskLast) {
			diskLast = st.ModTime()
		}
	}
	fs := fsType(diskRoot)

	if err := <-apiProfiled; err != nil {
		return err
	}
	if os.Getenv("SCALE_PPROF") != "" {
		logf("pausing 60 s: agent 0 serves pprof on %s", os.Getenv("SCALE_PPROF"))
		time.Sleep(60 * time.Second)
	}

	// Report.
	reqDelta := reqAfter.sub(reqBefore)
	fmt.Printf("\n## Scale: %d nodes (agent processes), %d profiles applied at once\n\n", *nodes, len(objs))
	fmt.Printf("| measure | result | target |\n|---|---|---|\n")
	fmt.Printf("| create requests (%d workers) | %v | |\n", *workers, applyDur.Round(time.Millisecond))
	fmt.Printf("| all %d files installed (last mtime − first create) | %v | < 60 s |\n", len(lat), filesDone.Round(time.Millisecond))
	fmt.Printf("| create → installed, p50 / p99 / max | %v / %v / %v | p99 < 10 s |\n",
		pct(lat, 50), pct(lat, 99), lat[len(lat)-1].Round(time.Millisecond))
	fmt.Printf("| of which: create request, p50 / p99 / max | %v / %v / %v | |\n",
		pct(createLat, 50), pct(createLat, 99), createLat[len(createLat)-1].Round(time.Millisecond))
	fmt.Printf("| of which: create response → installed, p50 / p99 / max | %v / %v / %v | |\n",
		pct(afterStored, 50), pct(afterStored, 99), afterStored[len(afterStored)-1].Round(time.Millisecond))
	fmt.Printf("| every node state reports every profile | %v | |\n", statusDone.Round(time.Millisecond))
	fmt.Printf("| every profile's status Installed on %d of %d | %v | |\n", *nodes, *nodes, aggregateDone.Round(time.Millisecond))
	fmt.Printf("| manager heap in use, max sampled | %s | < 200 MiB |\n", mib(mgrHeapMax.Load()))
	fmt.Printf("| manager RSS, peak (VmHWM) | %s | |\n", mib(mgrRSS))
	fmt.Printf("| agent RSS, peak (VmHWM) p50 / max | %s / %s | < 40 MiB |\n", mib(agentRSS[len(agentRSS)/2]), mib(agentRSS[len(agentRSS)-1]))
	fmt.Printf("| profile watchers the apiserver closed for falling behind (rollout) | %d | |\n", closedWatchers)
	fmt.Printf("| apiserver requests per profile (all clients, rollout) | %.1f (%d total) | |\n", float64(reqDelta.total())/float64(len(objs)), reqDelta.total())
	fmt.Printf("| writes in %v idle: node states / profiles / apiserver mutations | %d / %d / %d | 0 |\n", *idle, idleNodeWrites, idleProfileWrites, idleMutations)
	fmt.Printf("| one agent, %d profiles on the real disk (%s, fsync) | %v | |\n", len(objs), fs, diskLast.Sub(tDisk).Round(time.Millisecond))
	fmt.Printf("\nCPU seconds by component (2 cores = 2 s per second): from the first create until every file was verified, until every profile's status said Installed everywhere, and during the %v idle window:\n\n| component | to files verified | to statuses complete | idle |\n|---|---|---|---|\n", *idle)
	for _, k := range []string{"kube-apiserver", "etcd", "manager", "agent", "scale"} {
		fmt.Printf("| %s | %.1f | %.1f | %.1f |\n", k, cpuFiles[k]-cpuBefore[k], cpuRollout[k]-cpuBefore[k], cpuIdleAfter[k]-cpuIdleBefore[k])
	}
	fmt.Printf("\nApiserver mutations during the idle window (the apiserver renews its own identity lease every 10 s):\n\n| resource | verb | requests |\n|---|---|---|\n")
	for _, k := range idleDelta.keys() {
		if idleDelta[k] > 0 && idleDelta.mutation(k) {
			fmt.Printf("| %s | %s | %d |\n", k.resource, k.verb, idleDelta[k])
		}
	}
	fmt.Printf("\nApiserver requests during the rollout by resource and verb (incl. this program's %d creates):\n\n", len(objs))
	fmt.Printf("| resource | verb | requests |\n|---|---|---|\n")
	for _, k := range reqDelta.keys() {
		if reqDelta[k] > 0 {
			fmt.Printf("| %s | %s | %d |\n", k.resource, k.verb, reqDelta[k])
		}
	}
	return nil
}

// generate returns n profiles: a tenth of them bases, a fifth of the rest
// inheriting from one; allow lists of 40–120 x86_64 syscalls, some with
// argument rules. Deterministic, so runs compare.
func generate(n int) []*v1alpha1.SeccompProfile {
	names := []string{}
	for _, s := range syscalls.MustGet("x86_64").Syscalls() {
		names = append(names, s.Name)
	}
	sort.Strings(names)
	rng := rand.New(rand.NewPCG(1, 2))
	bases := max(1, n/100)
	out := make([]*v1alpha1.SeccompProfile, 0, n)
	for i := range n {
		sp := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s%04d", nameStart, i)}}
		k := 40 + rng.IntN(81)
		pick := rng.Perm(len(names))[:k]
		allow := make([]string, 0, k)
		for _, j := range pick {
			allow = append(allow, names[j])
		}
		sort.Strings(allow)
		sp.Spec.DefaultAction = "SCMP_ACT_ERRNO"
		sp.Spec.Syscalls = []v1alpha1.SyscallRule{{Names: allow, Action: "SCMP_ACT_ALLOW"}}
		if rng.IntN(3) == 0 {
			sp.Spec.Syscalls = append(sp.Spec.Syscalls, v1alpha1.SyscallRule{Names: []string{"personality"}, Action: "SCMP_ACT_ALLOW",
				Args: []v1alpha1.Arg{{Index: 0, Value: v1alpha1.ArgValue(rng.IntN(16)), Op: "SCMP_CMP_EQ"}}})
		}
		if i >= bases && rng.IntN(5) == 0 {
			sp.Spec.BaseProfileName = fmt.Sprintf("%s%04d", nameStart, rng.IntN(bases))
		}
		out = append(out, sp)
	}
	return out
}

// watcher follows node states and profiles through an informer.
type watcher struct {
	mu           sync.Mutex
	want         map[string]string // profile -> expected hash
	nodes        map[string]*v1alpha1.SeccompNodeStatus
	complete     map[string]time.Time
	profiles     map[string]*v1alpha1.SeccompProfile
	nodeWrites   int
	profileWrite int
}

func (w *watcher) handler() toolscache.ResourceEventHandler {
	on := func(obj any, update bool) {
		w.mu.Lock()
		defer w.mu.Unlock()
		switch o := obj.(type) {
		case *v1alpha1.SeccompNodeStatus:
			if w.nodes == nil {
				w.nodes = map[string]*v1alpha1.SeccompNodeStatus{}
			}
			w.nodes[o.Name] = o
			if update {
				w.nodeWrites++
			}
			w.check(o)
		case *v1alpha1.SeccompProfile:
			if w.profiles == nil {
				w.profiles = map[string]*v1alpha1.SeccompProfile{}
			}
			w.profiles[o.Name] = o
			if update {
				w.profileWrite++
			}
		}
	}
	return toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { on(obj, false) },
		UpdateFunc: func(_, obj any) { on(obj, true) },
	}
}

// check marks a node complete once it reports every expected profile
// Installed with the expected hash. Callers hold mu.
func (w *watcher) check(o *v1alpha1.SeccompNodeStatus) {
	if len(w.want) == 0 || !w.complete[o.Name].IsZero() {
		return
	}
	for name, hash := range w.want {
		st, ok := v1alpha1.FindNodeProfileState(o.Status.Profiles, name)
		if !ok || st.State != v1alpha1.InstallStateInstalled || st.ContentHash != hash {
			return
		}
	}
	w.complete[o.Name] = time.Now()
}

// expect sets the profiles every node must report and checks the nodes'
// current states against them.
func (w *watcher) expect(hashes map[string]string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.want = hashes
	for _, n := range w.nodes {
		w.check(n)
	}
}

func (w *watcher) nodeCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.nodes)
}

func (w *watcher) completeCount() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, t := range w.complete {
		if !t.IsZero() {
			n++
		}
	}
	return n
}

func (w *watcher) isComplete(node string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return !w.complete[node].IsZero()
}

func (w *watcher) profilesInstalled(nodes int) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for name, p := range w.profiles {
		if _, ok := w.want[name]; ok && p.Status.NodesInstalled == int32(nodes) && p.Status.NodesTotal == int32(nodes) {
			n++
		}
	}
	return n
}

func (w *watcher) resetWrites() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nodeWrites, w.profileWrite = 0, 0
}

func (w *watcher) writes() (int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nodeWrites, w.profileWrite
}

type reqKey struct{ resource, verb string }
type reqCounts map[reqKey]int64

// apiserverRequests reads apiserver_request_total, summed by resource and
// verb, and how many SeccompProfile watchers the apiserver's watch cache
// has closed because they could not take its events in time
// (apiserver_terminated_watchers_total).
func apiserverRequests(ctx context.Context, kube kubernetes.Interface) (reqCounts, int64, error) {
	raw, err := kube.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("read apiserver metrics: %w", err)
	}
	out := reqCounts{}
	var closedWatchers int64
	sc := bufio.NewScanner(bytes.NewReader(raw))
	sc.Buffer(make([]byte, 1<<20), 1<<22)
	for sc.Scan() {
		line := sc.Text()
		requests := strings.HasPrefix(line, "apiserver_request_total{")
		closed := strings.HasPrefix(line, "apiserver_terminated_watchers_total{") && label(line, "resource") == "seccompprofiles"
		if !requests && !closed {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		if closed {
			closedWatchers += int64(v)
			continue
		}
		out[reqKey{label(line, "resource"), label(line, "verb")}] += int64(v)
	}
	return out, closedWatchers, sc.Err()
}

func label(line, name string) string {
	i := strings.Index(line, name+`="`)
	if i < 0 {
		return ""
	}
	rest := line[i+len(name)+2:]
	return rest[:strings.IndexByte(rest, '"')]
}

func (a reqCounts) sub(b reqCounts) reqCounts {
	out := reqCounts{}
	for k, v := range a {
		out[k] = v - b[k]
	}
	return out
}

func (a reqCounts) total() int64 {
	var n int64
	for _, v := range a {
		n += v
	}
	return n
}

func (a reqCounts) mutations() int64 {
	var n int64
	for k, v := range a {
		if a.mutation(k) {
			n += v
		}
	}
	return n
}

// mutation: a write. Token and access reviews are POSTs that store
// nothing: the metrics endpoint's checks of this program's scrapes.
func (reqCounts) mutation(k reqKey) bool {
	if k.resource == "tokenreviews" || k.resource == "subjectaccessreviews" {
		return false
	}
	switch k.verb {
	case "POST", "PUT", "PATCH", "DELETE", "APPLY", "CREATE", "UPDATE":
		return true
	}
	return false
}

func (a reqCounts) keys() []reqKey {
	var ks []reqKey
	for k := range a {
		ks = append(ks, k)
	}
	sort.Slice(ks, func(i, j int) bool {
		if ks[i].resource != ks[j].resource {
			return ks[i].resource < ks[j].resource
		}
		return ks[i].verb < ks[j].verb
	})
	return ks
}

// sampleHeap polls a Go process's metrics for its heap in use and keeps the
// maximum.
func sampleHeap(ctx context.Context, scraper *http.Client, url string, maxHeap *atomic.Int64) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		resp, err := scraper.Get(url)
		if err != nil {
			continue
		}
		if resp.StatusCode != http.StatusOK {
			// Not a transient error: the heap would silently read 0.
			logf("scrape %s: %s", url, resp.Status)
			resp.Body.Close()
			continue
		}
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && int64(f) > maxHeap.Load() {
					maxHeap.Store(int64(f))
				}
			}
		}
		resp.Body.Close()
	}
}

// vmHWM is a process's peak resident set size in bytes (-1 if unknown).
func vmHWM(pid int) int64 {
	kib, err := nodeproc.StatusKiB(pid, "VmHWM")
	if err != nil {
		return -1
	}
	return kib * 1024
}

// cpuByComponent sums user+system CPU seconds of this program and its
// descendants (apiserver, etcd, manager, agents) by command name.
func cpuByComponent() map[string]float64 {
	out := map[string]float64{}
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	comm := map[int]string{}
	cpu := map[int]float64{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := nodeproc.ReadStat(pid)
		if err != nil {
			continue
		}
		parent[pid], comm[pid], cpu[pid] = st.PPID, st.Comm, st.CPU.Seconds()
	}
	self := os.Getpid()
	for pid := range cpu {
		for p := pid; p > 1; p = parent[p] {
			if p == self {
				name := comm[pid]
				if pid == self {
					name = "scale"
				}
				out[name] += cpu[pid]
				break
			}
		}
	}
	return out
}

func fsType(dir string) string {
	out, err := exec.Command("stat", "-f", "-c", "%T", dir).Output()
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(out))
}

func waitFor(ctx context.Context, d time.Duration, cond func() bool) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("timed out after %v", d)
}

func pct(sorted []time.Duration, p int) time.Duration {
	return stats.Percentile(sorted, p).Round(time.Millisecond)
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05.000")}, args...)...)
}

// profilePath is the installed path of the benchmark's profiles, whose
// names it generates valid.
func profilePath(name string) string {
	rel, err := nodepath.ProfilePath(name)
	if err != nil {
		panic(err)
	}
	return rel
}
