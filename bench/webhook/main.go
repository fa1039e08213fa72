// Command webhook measures the fallback admission webhook: the manager
// binary, forced onto the webhook path, against a real kube-apiserver +
// etcd (envtest), with a SeccompPolicy (default, allowed list) and a
// 1000-profile index.
//
//  1. Pod-create latency through the apiserver, alternating between a
//     namespace no policy governs and one the webhook judges (the
//     apiserver calls it over HTTPS), persisted creates.
//
//  2. The webhook alone: AdmissionReviews posted over HTTPS on loopback at
//     fixed rates (an open loop: request i is sent at start + i/rate, on
//     kept-alive connections), latency percentiles, and the manager's CPU
//     over the run (from /proc/<pid>/stat).
//
//     make build && KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh) go run ./bench/webhook
package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/podcreate"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/stats"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/certs"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
)

func main() {
	bin := flag.String("bin", "bin", "directory with the manager binary (make build)")
	n := flag.Int("pods", 300, "pods created per namespace through the apiserver")
	ratesFlag := flag.String("rates", "200,1000", "AdmissionReviews per second sent to the webhook alone")
	dur := flag.Duration("duration", 10*time.Second, "how long each rate runs")
	indexSize := flag.Int("index", 1000, "profiles in the index")
	cpuProfile := flag.String("manager-cpuprofile", "", "write the manager's CPU profile during the last rate to this file, and its allocation profile since start to FILE.allocs (go tool pprof bin/manager FILE)")
	flag.Parse()
	var rates []int
	for _, r := range strings.Split(*ratesFlag, ",") {
		v, err := strconv.Atoi(strings.TrimSpace(r))
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bench-webhook: bad rate %q\n", r)
			os.Exit(2)
		}
		rates = append(rates, v)
	}
	if err := run(*bin, *n, rates, *dur, *indexSize, *cpuProfile); err != nil {
		fmt.Fprintf(os.Stderr, "bench-webhook: %v\n", err)
		os.Exit(1)
	}
}

func run(bin string, n int, rates []int, dur time.Duration, indexSize int, cpuProfile string) error {
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start kube-apiserver (KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh)): %w", err)
	}
	defer env.Stop()
	cfg.QPS, cfg.Burst = 1000, 1000
	user, err := env.ControlPlane.AddUser(envtest.User{Name: "bench", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "seccomp-bench-webhook-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	kcPath := filepath.Join(work, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return err
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if _, err := podcreate.Prepare(ctx, k8s, indexSize, "seccomp-operator"); err != nil {
		return err
	}
	if err := k8s.Create(ctx, benchpolicy.Policy()); err != nil {
		return err
	}

	// The manager, on the webhook path. It makes its own certificate
	// (for the --webhook-url host, kept in a Secret) and publishes its CA in
	// the configuration; the benchmark trusts the same CA.
	port, err := podcreate.FreePort()
	if err != nil {
		return err
	}
	certDir := filepath.Join(work, "certs") // empty: the manager keeps its certificate in a Secret
	logFile, err := os.Create(filepath.Join(work, "manager.log"))
	if err != nil {
		return err
	}
	pprofPort, err := podcreate.FreePort()
	if err != nil {
		return err
	}
	pprofAddr := "localhost:" + strconv.Itoa(pprofPort)
	args := []string{"--admission=webhook", "--predefined-profiles=false",
		"--metrics-bind-address=0", "--health-probe-bind-address=0",
		"--webhook-port=" + strconv.Itoa(port), "--webhook-cert-dir=" + certDir,
		"--webhook-url=https://localhost:" + strconv.Itoa(port), "--webhook-service-namespace=seccomp-operator"}
	if cpuProfile != "" { // only then: earlier managers have no such flag
		args = append(args, "--pprof-bind-address="+pprofAddr)
	}
	cmd := exec.Command(filepath.Join(bin, "manager"), args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the manager: %w", err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	// Wait until the apiserver calls the webhook: a governed pod gets the
	// default.
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		probe := benchpolicy.Pod(podcreate.Governed, "probe", "")
		if err := k8s.Create(ctx, probe, client.DryRunAll); err == nil && probe.Spec.SecurityContext != nil && probe.Spec.SecurityContext.SeccompProfile != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the fallback webhook never applied (see %s)", logFile.Name())
		}
	}

	// 1. Pod creates through the apiserver: half defaulted, half naming
	// a profile.
	lat, err := podcreate.Alternate(ctx, k8s, n, func(i int) string {
		if i%2 == 1 {
			return fmt.Sprintf("profile-%04d", i%indexSize)
		}
		return ""
	})
	if err != nil {
		return err
	}
	fmt.Printf("pod create through kube-apiserver (envtest, persisted), %d pods per namespace, alternating; fallback webhook (manager binary, HTTPS)\n", n)
	for _, ns := range []string{"plain", "governed"} {
		slices.Sort(lat[ns])
		fmt.Printf("  %-9s p50 %-9s p99 %s\n", ns, pct(lat[ns], 50), pct(lat[ns], 99))
	}
	a, b := lat["plain"], lat["governed"]
	fmt.Printf("  added by the fallback webhook: p50 %s (%+.0f%%), p99 %s (%+.0f%%)\n",
		pct(b, 50)-pct(a, 50), 100*(float64(pct(b, 50))/float64(pct(a, 50))-1),
		pct(b, 99)-pct(a, 99), 100*(float64(pct(b, 99))/float64(pct(a, 99))-1))

	// 2. The webhook alone.
	var sec corev1.Secret
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "seccomp-operator", Name: "seccomp-operator-webhook-tls"}, &sec); err != nil {
		return fmt.Errorf("the manager's certificate Secret: %w", err)
	}
	caPEM := sec.Data[certs.BundleFile]
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "localhost"}, MaxIdleConnsPerHost: 512, ForceAttemptHTTP2: true}}
	url := fmt.Sprintf("https://localhost:%d%s", port, pods.PodsPath)
	bodies := make([][]byte, 64)
	for i := range bodies {
		prof := ""
		if i%2 == 1 {
			prof = fmt.Sprintf("profile-%04d", i)
		}
		if bodies[i], err = review(benchpolicy.Pod(podcreate.Governed, fmt.Sprintf("r-%d", i), prof)); err != nil {
			return err
		}
	}
	send := func(body []byte) (time.Duration, error) {
		t0 := time.Now()
		resp, err := hc.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return 0, err
		}
		if out.Response == nil || !out.Response.Allowed {
			return 0, fmt.Errorf("unexpected response %+v", out.Response)
		}
		return time.Since(t0), nil
	}
	for i := 0; i < 500; i++ { // warm up connections and caches
		if _, err := send(bodies[i%len(bodies)]); err != nil {
			return fmt.Errorf("warm-up review: %w", err)
		}
	}
	fmt.Printf("fallback webhook alone: AdmissionReviews over HTTPS on loopback, open loop, %s per rate; CPU is the manager's (2-core machine)\n", dur)
	for ri, rate := range rates {
		total := int(dur.Seconds() * float64(rate))
		var profiled chan error
		if cpuProfile != "" && ri == len(rates)-1 {
			profiled = make(chan error, 1)
			go func() { profiled <- fetchProfile(pprofAddr, dur, cpuProfile) }()
		}
		cpu0, err := cpuTime(cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("the manager's CPU time: %w", err)
		}
		wall0 := time.Now()
		var mu sync.Mutex
		var lats []time.Duration
		var errs int
		var wg sync.WaitGroup
		sem := make(chan struct{}, 512) // bounded: at most 512 in flight
		late := 0
		for i := 0; i < total; i++ {
			at := wall0.Add(time.Duration(i) * time.Second / time.Duration(rate))
			if d := time.Until(at); d > 0 {
				time.Sleep(d)
			} else if d < -time.Millisecond {
				late++
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(body []byte) {
				defer func() { <-sem; wg.Done() }()
				d, err := send(body)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					return
				}
				lats = append(lats, d)
			}(bodies[i%len(bodies)])
		}
		wg.Wait()
		wall := time.Since(wall0)
		cpu1, err := cpuTime(cmd.Process.Pid)
		if err != nil {
			return fmt.Errorf("the manager's CPU time: %w", err)
		}
		cpu := cpu1 - cpu0
		if profiled != nil {
			if err := <-profiled; err != nil {
				return fmt.Errorf("the manager's CPU profile: %w", err)
			}
			if err := fetch("http://"+pprofAddr+"/debug/pprof/allocs", cpuProfile+".allocs"); err != nil {
				return fmt.Errorf("the manager's allocation profile: %w", err)
			}
		}
		hwm, err := nodeproc.StatusKiB(cmd.Process.Pid, "VmHWM")
		if err != nil {
			return fmt.Errorf("the manager's peak RSS: %w", err)
		}
		slices.Sort(lats)
		fmt.Printf("  %5d/s: %d reviews in %s (%.0f/s), errors %d, sent >1ms late %d; latency p50 %s p99 %s max %s; manager CPU %.2f cores (%.0f µs per review), peak RSS %.1f MiB\n",
			rate, len(lats), wall.Round(time.Millisecond), float64(len(lats))/wall.Seconds(), errs, late,
			pct(lats, 50), pct(lats, 99), lats[len(lats)-1].Round(time.Microsecond),
			cpu.Seconds()/wall.Seconds(), float64(cpu.Microseconds())/float64(max(1, len(lats))), float64(hwm)/1024)
	}
	return nil
}

// review is the AdmissionReview the apiserver sends for a pod CREATE.
func review(p *corev1.Pod) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{
			UID:       types.UID("bench-" + p.Name),
			Kind:      metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Resource:  metav1.GroupVersionResource{Version: "v1", Resource: "pods"},
			Namespace: p.Namespace, Name: p.Name,
			Operation: admissionv1.Create,
			UserInfo:  authenticationv1.UserInfo{Username: "bench"},
			Object:    runtime.RawExtension{Raw: raw},
		},
	})
}

// fetchProfile writes the CPU profile the manager at addr takes over d to
// file.
func fetchProfile(addr string, d time.Duration, file string) error {
	return fetch(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, max(1, int(d.Seconds()))), file)
}

// fetch writes what url answers to file.
func fetch(url, file string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s", resp.Status)
	}
	out, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// cpuTime is the user+system CPU time of process pid so far.
func cpuTime(pid int) (time.Duration, error) {
	st, err := nodeproc.ReadStat(pid)
	return st.CPU, err
}

func pct(sorted []time.Duration, p int) time.Duration {
	return stats.Percentile(sorted, p).Round(time.Microsecond)
}
