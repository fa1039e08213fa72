// Command admission measures what SeccompPolicy's native admission policies
// add to pod creation: a real kube-apiserver + etcd (envtest), the objects
// policy.Compile makes for a policy with a default, an allowed list and the
// installed check (carrying a 1000-profile index), and N pod creates
// alternating between a namespace no policy governs and one the policy
// does, so that drift affects both alike. Latency is the client's round
// trip of each create (persisted, not a dry run).
//
//	KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh) go run ./bench/admission -pods 500
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/apiprofile"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/podcreate"
	"github.com/seccomp-operator/seccomp-operator/bench/internal/stats"
	"github.com/seccomp-operator/seccomp-operator/internal/policy"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

func main() {
	pods := flag.Int("pods", 500, "pods created per namespace")
	flag.IntVar(&indexSize, "index", 1000, "profiles in the index")
	flag.BoolVar(&floor, "floor", false, "reference: instead of the operator's policies, the smallest hand-written pair that does the defaulting job (a MutatingAdmissionPolicy whose JSON patch writes RuntimeDefault into pods that set no pod-level profile, a ValidatingAdmissionPolicy whose one validation refuses only a pod of one name): what any native policy costs on this machine")
	flag.BoolVar(&floorApply, "floor-apply", false, "with -floor: the mutation as an apply configuration instead of a JSON patch")
	flag.StringVar(&allocProfile, "apiserver-allocs", "", "write kube-apiserver's allocation profile before and after the pods are created to this file + .before and .after (go tool pprof -sample_index=alloc_space -base F.before kube-apiserver F.after)")
	flag.StringVar(&cpuProfile, "apiserver-cpuprofile", "", "write a CPU profile of kube-apiserver, taken while the pods are created, to this file (go tool pprof)")
	flag.DurationVar(&cpuProfileFor, "apiserver-cpuprofile-for", 10*time.Second, "how long -apiserver-cpuprofile profiles (whole seconds; keep it shorter than the creates)")
	flag.StringVar(&latencyFile, "latencies", "", "write every create's latency to this file, one line per create: namespace, pod index (odd: the pod names a profile; even: it sets none), nanoseconds")
	flag.BoolVar(&indexParams, "index-params", false, "the previous design: the installed check reads the index as params (the SeccompProfileIndex custom resource) on every request, instead of carrying it in its expression")
	flag.BoolVar(&configMapParams, "index-configmap", false, "experiment: the installed check reads the installed set from a ConfigMap (a typed built-in param kind) instead of the SeccompProfileIndex custom resource")
	only := flag.String("only", "", "apply only one of the policy's admission policies: mutating, allowed or installed (to see what each costs)")
	pool := flag.String("pool", "", "instead of measuring: read the comma-separated files that -latencies wrote and print the added p50, p90 and p99 of all of them together, and by kind of pod")
	flag.Parse()
	if *pool != "" {
		if err := poolLatencies(strings.Split(*pool, ",")); err != nil {
			fmt.Fprintf(os.Stderr, "bench-admission: %v\n", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*pods, *only); err != nil {
		fmt.Fprintf(os.Stderr, "bench-admission: %v\n", err)
		os.Exit(1)
	}
}

var (
	indexSize       int
	cpuProfile      string
	cpuProfileFor   time.Duration
	indexParams     bool
	configMapParams bool
	floor           bool
	floorApply      bool
	allocProfile    string
	latencyFile     string
)

func run(n int, only string) error {
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("start kube-apiserver (KUBEBUILDER_ASSETS=$(hack/kube-binaries.sh)): %w", err)
	}
	defer env.Stop()
	cfg.QPS, cfg.Burst = 1000, 1000
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return err
	}
	ctx := context.Background()
	idx, err := podcreate.Prepare(ctx, k8s, indexSize)
	if err != nil {
		return err
	}
	p := benchpolicy.Policy()
	// As the manager compiles them: the index written into the installed
	// check (-index-params and -index-configmap: read per request instead).
	compiled := idx
	if indexParams || configMapParams {
		compiled = nil
	}
	objs, err := policy.Compile(p, []v1alpha1.SeccompPolicy{*p}, "seccomp-operator", nil, compiled)
	if err != nil {
		return err
	}
	if configMapParams {
		// The experiment: the same set in a ConfigMap. The apiserver
		// holds built-in params as typed objects, which CEL reads lazily;
		// a custom resource is unstructured and converted whole per
		// request (docs/benchmarks.md section 6).
		const ns, name = "seccomp-operator", "seccomp-profile-index"
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			return err
		}
		if err := k8s.Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}, Data: map[string]string{"installed": idx.Installed}}); err != nil {
			return err
		}
		objs.Installed.Spec.ParamKind = &admissionv1.ParamKind{APIVersion: "v1", Kind: "ConfigMap"}
		objs.InstalledBind.Spec.ParamRef = &admissionv1.ParamRef{Name: name, Namespace: ns, ParameterNotFoundAction: ptr.To(admissionv1.AllowAction)}
		for i := range objs.Installed.Spec.Variables {
			switch v := &objs.Installed.Spec.Variables[i]; v.Name {
			case "installed":
				v.Expression = "params.data.installed"
			case "notInstalled":
				v.Expression = "{'':''}"
			}
		}
	}
	apply := map[string][]client.Object{
		"mutating":  {objs.Mutating, objs.MutatingBinding},
		"allowed":   {objs.Validating, objs.ValidatingBind},
		"installed": {objs.Installed, objs.InstalledBind},
	}
	if objs.Installed == nil {
		// The allowed list and the installed check are one policy once
		// the index is carried as literals (policy.Compile).
		if only == "installed" {
			return fmt.Errorf("-only installed: with the index as literals the installed check is in the allowed-list policy (-only allowed); apart only with -index-params")
		}
		delete(apply, "installed")
	}
	if floor {
		if only == "installed" {
			return fmt.Errorf("-floor -only installed: the reference has no installed check (-only mutating or -only allowed)")
		}
		apply = floorPolicies(objs) // the probe below waits for its default
	}
	var create []client.Object
	for k, v := range apply {
		if only == "" || only == k {
			create = append(create, v...)
		}
	}
	if len(create) == 0 {
		return fmt.Errorf("-only %q: want mutating, allowed or installed", only)
	}
	for _, o := range create {
		if err := k8s.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T: %w", o, err)
		}
	}
	// Wait until the apiserver applies them.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		probe := benchpolicy.Pod(podcreate.Governed, "probe", "")
		err := k8s.Create(ctx, probe, client.DryRunAll)
		if only != "" && only != "mutating" {
			// Refused by allowed and by installed, and by name by the
			// -floor reference.
			bad := benchpolicy.Pod(podcreate.Governed, benchpolicy.FloorRefuses, "nowhere")
			if k8s.Create(ctx, bad, client.DryRunAll) != nil {
				break
			}
		} else if err == nil && probe.Spec.SecurityContext.SeccompProfile != nil {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the policies never applied")
		}
	}
	// Half the pods set nothing (defaulted), half name a profile (judged
	// against the allowed list and the index); without the default, a
	// pod must name one.
	if allocProfile != "" {
		if err := apiprofile.Allocs(ctx, cfg, allocProfile+".before"); err != nil {
			return err
		}
	}
	profiled := apiprofile.Start(ctx, cfg, cpuProfileFor, cpuProfile)
	lat, err := podcreate.Alternate(ctx, k8s, n, func(i int) string {
		if i%2 == 1 || only == "allowed" {
			return fmt.Sprintf("profile-%04d", i%indexSize)
		}
		return ""
	})
	if err != nil {
		return err
	}
	if err := <-profiled; err != nil {
		return err
	}
	if allocProfile != "" {
		if err := apiprofile.Allocs(ctx, cfg, allocProfile+".after"); err != nil {
			return err
		}
	}
	if latencyFile != "" {
		if err := writeLatencies(latencyFile, lat); err != nil {
			return err
		}
	}
	which := map[bool]string{true: "all", false: only}[only == ""]
	if floor {
		which = "the -floor reference's " + map[bool]string{true: "pair", false: only}[only == ""]
	}
	fmt.Printf("pod create through kube-apiserver (envtest, persisted), %d pods per namespace, alternating; policies: %s\n", n, which)
	for _, ns := range []string{"plain", "governed"} {
		l := lat[ns]
		slices.Sort(l)
		fmt.Printf("  %-9s p50 %-9s p99 %-9s mean %s\n", ns, pct(l, 50), pct(l, 99), mean(l))
	}
	a, b := lat["plain"], lat["governed"]
	fmt.Printf("  added by the native policies: p50 %s, p99 %s\n", pct(b, 50)-pct(a, 50), pct(b, 99)-pct(a, 99))
	return nil
}

// floorPolicies is the reference of -floor: a hand-written policy pair with
// the same match constraints and namespace binding as the operator's, doing
// the least a defaulting policy can (no legacy annotations, no containers,
// no allowed list, no index), its mutation a JSON patch (-floor-apply: an
// apply configuration, which costs the apiserver more, docs/benchmarks.md).
func floorPolicies(objs policy.Objects) map[string][]client.Object {
	return map[string][]client.Object{
		"mutating": {benchpolicy.FloorMutating(objs.Mutating, floorApply), objs.MutatingBinding},
		"allowed":  {benchpolicy.FloorValidating(objs.Validating), objs.ValidatingBind},
	}
}

// writeLatencies writes lat, in creation order, for analyses the summary
// does not make (tails by kind of pod, pooling runs).
func writeLatencies(path string, lat map[string][]time.Duration) error {
	var b strings.Builder
	for _, ns := range []string{"plain", "governed"} {
		for i, d := range lat[ns] {
			fmt.Fprintf(&b, "%s %d %d\n", ns, i, d.Nanoseconds())
		}
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// poolLatencies prints what the policies add at p50, p90 and p99 over the
// creates of several -latencies files together: one run's p99 moves by
// ±0.5 ms on this machine, a pool of runs much less.
func poolLatencies(files []string) error {
	lat := map[string][]time.Duration{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		for n, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var ns string
			var i int
			var d int64
			if _, err := fmt.Sscanf(line, "%s %d %d", &ns, &i, &d); err != nil {
				return fmt.Errorf("%s:%d: %w", f, n+1, err)
			}
			// Odd pods name a profile, even ones are defaulted (run).
			kind := map[bool]string{true: "names a profile", false: "defaulted"}[i%2 == 1]
			lat[ns] = append(lat[ns], time.Duration(d))
			lat[ns+"/"+kind] = append(lat[ns+"/"+kind], time.Duration(d))
		}
	}
	for _, l := range lat {
		slices.Sort(l)
	}
	fmt.Printf("%d files, %d creates per namespace\n", len(files), len(lat["plain"]))
	for _, kind := range []string{"", "/defaulted", "/names a profile"} {
		a, b := lat["plain"+kind], lat["governed"+kind]
		if len(a) == 0 || len(b) == 0 {
			return fmt.Errorf("no creates of pods%s in both namespaces", kind)
		}
		fmt.Printf("  added%-17s p50 %-9s p90 %-9s p99 %s\n", kind, pct(b, 50)-pct(a, 50), pct(b, 90)-pct(a, 90), pct(b, 99)-pct(a, 99))
	}
	return nil
}

func pct(sorted []time.Duration, p int) time.Duration {
	return stats.Percentile(sorted, p).Round(time.Microsecond)
}

func mean(l []time.Duration) time.Duration {
	var s time.Duration
	for _, d := range l {
		s += d
	}
	return (s / time.Duration(len(l))).Round(time.Microsecond)
}
