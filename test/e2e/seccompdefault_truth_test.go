//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
	"github.com/seccomp-operator/seccomp-operator/test/workloads"
)

// truthNS holds the workloads of TestSeccompDefaultGroundTruth: pods that
// declare no profile, as before a kubelet's SeccompDefault, in a baseline
// namespace (which admits them: baseline refuses only an explicit
// Unconfined). make up's kubelet has SeccompDefault off, so they run
// without a filter.
const truthNS = "seccomp-e2e-sdtruth"

// truthWorkload is one workload of the ground truth: a probe making calls
// (probe calls ...), or a server of test/workloads.
type truthWorkload struct {
	name   string
	calls  []string
	server *workloads.Workload
}

// outcome is what a run of a workload showed: each call's answer by call
// name ("unshare", "personality(0x40000)"), the Seccomp: line, or for a
// server whether it served.
type outcome struct {
	seccomp string
	answers map[string]string
	order   []string
	failure string // a server that did not serve
}

// failing is the syscalls that failed (a personality call is reported
// under its syscall name), sorted.
func (o outcome) failing() []string {
	var out []string
	for _, c := range o.order {
		if o.answers[c] != "ok" {
			out = append(out, syscallOf(c))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func (o outcome) String() string {
	if o.failure != "" {
		return o.failure
	}
	var parts []string
	for _, c := range o.order {
		parts = append(parts, c+" "+o.answers[c])
	}
	if len(parts) == 0 {
		parts = []string{"served, 0 errors"}
	}
	return strings.Join(parts, ", ") + " (Seccomp: " + o.seccomp + ")"
}

// syscallOf is "personality" for "personality(0x40000)".
func syscallOf(call string) string {
	name, _, _ := strings.Cut(call, "(")
	return name
}

// TestSeccompDefaultGroundTruth holds audit --seccomp-default to what
// really happens, from recordings made two ways. First each workload is
// recorded by a ProfileRecording (eBPF) while it runs Unconfined and the
// report is read; then each is recorded while it runs under a profile that
// allows everything, the recording is disabled, the workloads run again
// declaring no profile (make up's kubelet has SeccompDefault off: no
// filter) and the report is read; then each runs once more, the same pod
// declaring RuntimeDefault, and what fails is compared with both reports'
// verdicts. The pod specs differ in the profile only and every call works
// without one, so a failure under RuntimeDefault is the filter's.
// Agreement per workload: breaks ⇔ the breaking syscalls reported are
// exactly those that failed, with the errno reported; safe ⇔ nothing
// failed; depends (on arguments) ⇔ only syscalls reported as depending
// failed, each exactly when the value passed is not one the row lists as
// allowed. containerd 1.6.20 (make up's runtime) allows io_uring_*, so
// io_uring is a safe row next to breaking ones.
//
// Recorded Unconfined, the container's mount namespace also holds the
// runtime's own set-up before exec (runc's mount, pivot_root, keyctl, ...),
// which RuntimeDefault never meets (the runtime loads it after them): the
// recorder marks the names only runc's init made runtime-only and the
// report leaves them out. Under the allow-everything profile the recorder
// counts only what ran under the filter.
func TestSeccompDefaultGroundTruth(t *testing.T) {
	ctx := context.Background()
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: truthNS, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline",
	}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ws := []*truthWorkload{
		{name: "nginx", server: workloads.Nginx(truthNS)},
		{name: "userns", calls: []string{"unshare-user"}},
		{name: "keys", calls: []string{"keys"}},
		{name: "uring", calls: []string{"io-uring"}},
		{name: "uffd", calls: []string{"userfaultfd"}},
		// ADDR_NO_RANDOMIZE (setarch -R): refused by every default held.
		// PER_LINUX32, which the issue suggested, is allowed by them.
		{name: "persona-norand", calls: []string{"personality=0x40000"}},
		// 0xffffffff only queries the persona: allowed.
		{name: "persona-query", calls: []string{"personality=0xffffffff"}},
	}
	loader, err := workloads.StartLoader(ctx, k8s, kubectl, kubeconfig, truthNS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = loader.Stop(context.Background(), k8s) })
	allowAll := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "sdtruth-allow-all"},
		Spec: v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_ALLOW",
			Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}},
	}
	createProfile(t, allowAll)
	waitInstalled(t, allowAll.Name, 60*time.Second)
	allowAllSP := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/" + allowAll.Name + ".json")}

	// 1. Recorded Unconfined.
	unconfRecs := record(t, ws, "unconf-")
	unconfined := startAll(t, ws, nil, loader)
	unconfRecorded := settle(t, ws, unconfRecs, unconfined)
	unconfRows, unconfCode := auditSD(t, ws)
	runtimeOnly := map[string][]string{}
	for i, w := range ws {
		for _, sc := range unconfRecs[i].Status.Containers[0].Syscalls {
			if sc.RuntimeOnly {
				runtimeOnly[w.name] = append(runtimeOnly[w.name], sc.Name)
			}
		}
		// runc pivots into every container's root: its init's call.
		if !slices.Contains(runtimeOnly[w.name], "pivot_root") {
			t.Errorf("%s recorded Unconfined: pivot_root not runtime-only (runtime-only: %v)", w.name, runtimeOnly[w.name])
		}
	}
	removeAll(t, ws)
	for _, rec := range unconfRecs {
		if err := k8s.Delete(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}

	// 2. Recorded under the allow-everything profile, then disabled.
	recs := record(t, ws, "truth-")
	startAll(t, ws, allowAllSP, loader)
	recorded := settle(t, ws, recs, unconfined)
	removeAll(t, ws)
	for _, rec := range recs {
		patch := client.RawPatch("application/merge-patch+json", []byte(`{"spec":{"mode":"Disabled"}}`))
		if err := k8s.Patch(ctx, rec, patch); err != nil {
			t.Fatal(err)
		}
	}
	var added []string
	for _, w := range ws {
		added = append(added, fmt.Sprintf("%s +%v", w.name, minus(unconfRecorded[w.name], recorded[w.name])))
	}
	t.Logf("recorded Unconfined vs under an allow-everything filter (what the runtime's set-up adds): %s", strings.Join(added, "; "))
	var marked []string
	for _, w := range ws {
		marked = append(marked, fmt.Sprintf("%s %v", w.name, runtimeOnly[w.name]))
	}
	t.Logf("recorded Unconfined, runtime-only (left out of the report's evidence): %s", strings.Join(marked, "; "))

	// 3. The report on the workloads running without a profile.
	startAll(t, ws, nil, loader)
	rows, code := auditSD(t, ws)
	removeAll(t, ws)

	// 4. Each again under RuntimeDefault.
	rd := &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	for _, w := range ws {
		launch(t, w, rd)
	}
	observed := map[string]outcome{}
	for _, w := range ws {
		observed[w.name] = observe(t, w, loader)
	}
	removeAll(t, ws)
	var table, unconfTable []string
	agree, unconfAgree, breaks, unconfBreaks := 0, 0, 0, 0
	for _, w := range ws {
		row, ok := rows[w.name]
		if !ok {
			t.Errorf("%s: not in the report", w.name)
			continue
		}
		if row.Verdict == seccompdefault.Breaks {
			breaks++
		}
		got := observed[w.name]
		problem := disagreement(row, got)
		if w.server == nil && got.seccomp != "2" {
			problem = "not filtered under RuntimeDefault (Seccomp: " + got.seccomp + ")"
		}
		mark := "agrees"
		if problem != "" {
			mark = "DISAGREES: " + problem
			t.Errorf("%s: verdict %s %v, under RuntimeDefault %s: %s", w.name, row.Verdict, reported(row), got, problem)
		} else {
			agree++
		}
		table = append(table, fmt.Sprintf("| %s | %s | %s | %s | %s |", w.name, row.Verdict, strings.Join(reported(row), ", "), got, mark))
		u, ok := unconfRows[w.name]
		if !ok {
			t.Errorf("%s: not in the report from Unconfined recordings", w.name)
			continue
		}
		if u.Verdict == seccompdefault.Breaks {
			unconfBreaks++
		}
		umark := "agrees"
		if p := disagreement(u, got); p != "" {
			umark = "DISAGREES: " + p
			t.Errorf("%s recorded Unconfined: verdict %s %v, under RuntimeDefault %s: %s", w.name, u.Verdict, reported(u), got, p)
		} else {
			unconfAgree++
		}
		unconfTable = append(unconfTable, fmt.Sprintf("| %s | %s | %s | %s |", w.name, u.Verdict, strings.Join(reported(u), ", "), umark))
	}
	if want := min(breaks, 1); code != want {
		t.Errorf("exit %d with %d breaking, want %d", code, breaks, want)
	}
	if want := min(unconfBreaks, 1); unconfCode != want {
		t.Errorf("from Unconfined recordings: exit %d with %d breaking, want %d", unconfCode, unconfBreaks, want)
	}
	t.Logf("audit --seccomp-default (recorded under an allow-everything filter) vs RuntimeDefault on make up (%s), agreement %d/%d:\n| workload | verdict | reported | observed under RuntimeDefault | |\n|---|---|---|---|---|\n%s",
		rows["nginx"].Against, agree, len(ws), strings.Join(table, "\n"))
	t.Logf("the same report from Unconfined recordings, agreement %d/%d:\n| workload | verdict | reported | |\n|---|---|---|---|\n%s",
		unconfAgree, len(ws), strings.Join(unconfTable, "\n"))
}

// record creates an eBPF ProfileRecording per workload (name prefix+w)
// and waits until the node's recorder is attached.
func record(t *testing.T, ws []*truthWorkload, prefix string) []*v1alpha1.ProfileRecording {
	t.Helper()
	ctx := context.Background()
	var recs []*v1alpha1.ProfileRecording
	for _, w := range ws {
		rec := &v1alpha1.ProfileRecording{
			ObjectMeta: metav1.ObjectMeta{Name: prefix + w.name, Namespace: truthNS},
			Spec: v1alpha1.ProfileRecordingSpec{
				Mode:        v1alpha1.RecordingModeRecording,
				PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": w.name}},
				Recorder:    v1alpha1.RecorderEBPF,
			},
		}
		if err := k8s.Create(ctx, rec); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), rec)) })
		recs = append(recs, rec)
	}
	eventually(t, 60*time.Second, "the node's recorder attached", func() bool {
		var st v1alpha1.SeccompNodeStatus
		return k8s.Get(ctx, client.ObjectKey{Name: node}, &st) == nil && st.Status.Recorder != nil && st.Status.Recorder.Attached
	})
	return recs
}

// startAll starts every workload under sp, checks that each worked (every
// call ok; unfiltered when sp is nil) and returns the outcomes.
func startAll(t *testing.T, ws []*truthWorkload, sp *corev1.SeccompProfile, loader *workloads.Loader) map[string]outcome {
	t.Helper()
	for _, w := range ws {
		launch(t, w, sp)
	}
	out := map[string]outcome{}
	for _, w := range ws {
		o := observe(t, w, loader)
		if o.failure != "" || len(o.failing()) > 0 || (w.server == nil && sp == nil && o.seccomp != "0") {
			t.Fatalf("%s must work under %v, or a failure under RuntimeDefault says nothing: %s", w.name, sp, o)
		}
		out[w.name] = o
	}
	return out
}

// settle waits until each recording holds its workload's calls and has not
// changed for 3 s, and returns the recorded names by workload.
func settle(t *testing.T, ws []*truthWorkload, recs []*v1alpha1.ProfileRecording, calls map[string]outcome) map[string][]string {
	t.Helper()
	ctx := context.Background()
	out := map[string][]string{}
	for i, w := range ws {
		rec := recs[i]
		var last []string
		stable := 0
		eventually(t, 120*time.Second, "recording "+rec.Name+" holds the workload's syscalls and settled", func() bool {
			if k8s.Get(ctx, client.ObjectKeyFromObject(rec), rec) != nil || len(rec.Status.Containers) != 1 {
				return false
			}
			names := syscallNames(rec.Status.Containers[0])
			for _, c := range calls[w.name].order {
				if !slices.Contains(names, syscallOf(c)) {
					return false
				}
			}
			if !slices.Equal(names, last) {
				last, stable = names, 0
				return false
			}
			stable++
			return stable >= 12
		})
		out[w.name] = last
	}
	return out
}

// auditSD runs audit --seccomp-default -n truthNS -o json and returns its
// rows by workload and its exit code.
func auditSD(t *testing.T, ws []*truthWorkload) (map[string]seccompdefault.Row, int) {
	t.Helper()
	containers, _, code := auditSeccompDefault(t, truthNS)
	rows := map[string]seccompdefault.Row{}
	for _, r := range containers {
		for _, w := range ws {
			if r.Pod == w.name || (w.server != nil && strings.HasPrefix(r.Pod, w.name+"-")) {
				rows[w.name] = r
			}
		}
	}
	return rows, code
}

// reported is the row's refusals that decide its verdict, with the effect
// when it is not "breaks": "unshare EPERM", "personality EPERM unless …".
func reported(r seccompdefault.Row) []string {
	var out []string
	for _, f := range r.Refused {
		s := f.Syscall + " " + f.ErrnoName
		switch f.Effect {
		case seccompdefault.EffectBreaks:
		case seccompdefault.EffectArguments:
			s += " unless " + strings.Join(f.AllowedOnly, " | ")
		default:
			s += " (note: " + string(f.Effect) + ")"
		}
		out = append(out, s)
	}
	return out
}

// disagreement says how the verdict and what happened disagree, "" when
// they agree.
func disagreement(r seccompdefault.Row, got outcome) string {
	if got.failure != "" {
		if r.Verdict == seccompdefault.Breaks {
			return "" // a server that stops serving; its syscalls cannot be read from outside
		}
		return "verdict " + string(r.Verdict) + " but " + got.failure
	}
	failing := got.failing()
	var breaks, depends []string
	errnos := map[string]string{}
	allowed := map[string][]string{}
	for _, f := range r.Refused {
		switch f.Effect {
		case seccompdefault.EffectBreaks:
			breaks = append(breaks, f.Syscall)
			errnos[f.Syscall] = f.ErrnoName
		case seccompdefault.EffectArguments:
			depends = append(depends, f.Syscall)
			errnos[f.Syscall] = f.ErrnoName
			allowed[f.Syscall] = f.AllowedOnly
		}
	}
	slices.Sort(breaks)
	breaks = slices.Compact(breaks)
	switch r.Verdict {
	case seccompdefault.Safe:
		if len(failing) > 0 {
			return fmt.Sprintf("missed breakage: %v failed", failing)
		}
	case seccompdefault.Breaks:
		if !slices.Equal(breaks, minus(failing, depends)) {
			return fmt.Sprintf("reported breaking on %v, failed on %v", breaks, failing)
		}
	case seccompdefault.Depends:
		if extra := minus(failing, depends); len(extra) > 0 {
			return fmt.Sprintf("missed breakage: %v failed", extra)
		}
	default:
		return "verdict " + string(r.Verdict)
	}
	for _, c := range got.order {
		sc := syscallOf(c)
		failed := got.answers[c] != "ok"
		if failed && errnos[sc] != got.answers[c] {
			return fmt.Sprintf("%s failed with %s, reported %q", c, got.answers[c], errnos[sc])
		}
		if !slices.Contains(depends, sc) {
			continue
		}
		// The value the call passed: allowed by the row's conditions?
		v, ok := callValue(c)
		if !ok {
			return c + ": no argument value to hold the row's conditions against"
		}
		ok = slices.ContainsFunc(allowed[sc], func(cond string) bool {
			return cond == fmt.Sprintf("arg0 == %#x", v) || strings.HasPrefix(cond, fmt.Sprintf("arg0 == %#x ", v))
		})
		if failed == ok {
			return fmt.Sprintf("%s: failed %v, the row says allowed %v", c, failed, ok)
		}
	}
	return ""
}

// callValue is 0x40000 for "personality(0x40000)".
func callValue(call string) (uint64, bool) {
	_, v, ok := strings.Cut(call, "(")
	if !ok {
		return 0, false
	}
	x, err := strconv.ParseUint(strings.TrimSuffix(v, ")"), 0, 64)
	return x, err == nil
}

// launch creates w with the container's profile sp (nil: none declared).
func launch(t *testing.T, w *truthWorkload, sp *corev1.SeccompProfile) {
	t.Helper()
	ctx := context.Background()
	if w.server != nil {
		w.server.Seccomp = sp
		t.Cleanup(func() { _ = workloads.Remove(context.Background(), k8s, w.server) })
		if err := workloads.Deploy(ctx, k8s, w.server); err != nil {
			t.Fatal(err)
		}
		return
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: truthNS, Labels: map[string]string{"app": w.name}},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](0),
			Containers: []corev1.Container{{
				Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent,
				Args:            append([]string{"calls"}, w.calls...),
				SecurityContext: &corev1.SecurityContext{SeccompProfile: sp},
			}},
		},
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) })
}

// observe returns what a launched w showed: a server's readiness and a
// load through its Service, a probe's answers from its log.
func observe(t *testing.T, w *truthWorkload, loader *workloads.Loader) outcome {
	t.Helper()
	ctx := context.Background()
	if w.server != nil {
		if _, err := workloads.WaitReady(ctx, k8s, w.server, 120*time.Second); err != nil {
			return outcome{failure: "not ready: " + err.Error()}
		}
		// Loads until one gets through the Service (a new Service's rules
		// lag its pods), then the measured one.
		var r workloads.Result
		var err error
		for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
			if r, err = w.server.Load(ctx, k8s, loader, time.Second); err == nil && r.Done > 0 {
				break
			}
		}
		if err == nil {
			r, err = w.server.Load(ctx, k8s, loader, 3*time.Second)
		}
		if err != nil || r.Errors != 0 || r.Done == 0 {
			return outcome{failure: fmt.Sprintf("load: %v %s", err, r)}
		}
		return outcome{}
	}
	return observeIn(t, truthNS, w.name)
}

// observeIn returns what the probe pod made of its calls, from its log.
func observeIn(t *testing.T, namespace, pod string) outcome {
	t.Helper()
	var logs string
	eventually(t, 90*time.Second, "pod "+pod+" made its calls", func() bool {
		b, err := exec.Command(kubectl, "--kubeconfig", kubeconfig, "-n", namespace, "logs", pod).Output()
		logs = string(b)
		return err == nil && strings.Contains(logs, "probe: calls made")
	})
	o := outcome{answers: map[string]string{}}
	for _, l := range strings.Split(logs, "\n") {
		if v, ok := strings.CutPrefix(l, "probe: seccomp "); ok {
			o.seccomp = v
		}
		if rest, ok := strings.CutPrefix(l, "call "); ok {
			c, a, _ := strings.Cut(rest, ": ")
			o.answers[c] = a
			o.order = append(o.order, c)
		}
	}
	return o
}

// removeAll deletes every workload and waits until their pods are gone.
func removeAll(t *testing.T, ws []*truthWorkload) {
	t.Helper()
	ctx := context.Background()
	for _, w := range ws {
		if w.server != nil {
			if err := workloads.Remove(ctx, k8s, w.server); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: truthNS}}
		if err := k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
	}
	for _, w := range ws {
		if w.server == nil {
			pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: w.name, Namespace: truthNS}}
			eventually(t, 60*time.Second, "pod "+w.name+" gone", func() bool {
				return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod))
			})
		}
	}
}
