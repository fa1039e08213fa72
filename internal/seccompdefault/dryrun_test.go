package seccompdefault

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// The dry-run profile is the node's own default (its runtime version, the
// nearest held one when not held: runtimedefault.Nearest), without capabilities, where every
// call the default refuses is logged and every call it allows is allowed:
// checked syscall by syscall (arguments zero) against the default itself.
func TestDryRunProfile(t *testing.T) {
	x86 := syscalls.MustGet("x86_64")
	for _, c := range []struct {
		rv, about string
	}{
		{"containerd://1.6.20", "containerd@v1.6.20, amd64, kernel 6.1.0-18-amd64, no capabilities"},
		{"containerd://2.1.9", "containerd@v2.1.9,"},
		{"containerd://1.7.99", "containerd@v1.7.35, amd64, kernel 6.1.0-18-amd64, no capabilities (containerd://1.7.99 is not held"},
		{"docker://28.0.1", "docker@v0.3.0,"},
		{"cri-o://1.30.0", "crio@v0.50.1,"},
	} {
		t.Run(c.rv, func(t *testing.T) {
			tg := NodeTarget("n1", node(c.rv), "")
			b, about, err := DryRunProfile(&tg, "arm64", "5.10")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(about, c.about) {
				t.Errorf("about %q, want it to start with %q", about, c.about)
			}
			dry, err := profile.Parse(b)
			if err != nil {
				t.Fatal(err)
			}
			def, err := profile.Resolve(tg.profile, profile.Env{Arch: "amd64", Caps: []string{}, KernelVersion: tg.Kernel})
			if err != nil {
				t.Fatal(err)
			}
			logged := 0
			for _, sc := range x86.Syscalls() {
				nr, name := sc.Nr, sc.Name
				want, _, err := profile.Evaluate(def, x86, nr, [6]uint64{})
				if err != nil {
					t.Fatal(name, err)
				}
				got, _, err := profile.Evaluate(dry, x86, nr, [6]uint64{})
				if err != nil {
					t.Fatal(name, err)
				}
				switch {
				case want == profile.ActAllow && got != profile.ActAllow:
					t.Errorf("%s: the default allows it, the dry run %s", name, got)
				case want != profile.ActAllow && got != profile.ActLog:
					t.Errorf("%s: the default %s, the dry run %s, want %s", name, want, got, profile.ActLog)
				case got == profile.ActLog:
					logged++
				}
			}
			// unshare needs CAP_SYS_ADMIN under containerd's and Docker's
			// defaults, keyctl is refused: the dry run logs them (CRI-O's
			// default allows both to every container).
			for _, name := range []string{"unshare", "keyctl"} {
				if tg.def.Runtime == runtimedefault.CRIO {
					break
				}
				nr, _ := x86.Lookup(name)
				if got, _, _ := profile.Evaluate(dry, x86, nr, [6]uint64{}); got != profile.ActLog {
					t.Errorf("%s: %s, want logged", name, got)
				}
			}
			t.Logf("%s: %d of %d x86_64 syscalls logged", about, logged, len(x86.Syscalls()))
		})
	}
	if _, _, err := DryRunProfile(ptr(NodeTarget("n1", node("runc://1"), "")), "amd64", ""); err == nil {
		t.Errorf("a node without a held default: no error")
	}
}

// Without capabilities the defaults are at their strictest: nothing a
// default container (or one with every capability) is refused is allowed
// without them. The dry run relies on it to log everything that could be
// refused.
func TestNoCapabilitiesIsStrictest(t *testing.T) {
	x86 := syscalls.MustGet("x86_64")
	for _, d := range runtimedefault.All() {
		tg := NodeTarget("n1", node("containerd://1.6.20"), d.Ref())
		none, err := profile.Resolve(tg.profile, profile.Env{Arch: "amd64", Caps: []string{}, KernelVersion: "6.1"})
		if err != nil {
			t.Fatal(err)
		}
		for _, caps := range [][]string{profile.DefaultCaps, allCaps()} {
			with, err := profile.Resolve(tg.profile, profile.Env{Arch: "amd64", Caps: caps, KernelVersion: "6.1"})
			if err != nil {
				t.Fatal(err)
			}
			for _, sc := range x86.Syscalls() {
				nr, name := sc.Nr, sc.Name
				w, _, _ := profile.Evaluate(with, x86, nr, [6]uint64{})
				n, _, _ := profile.Evaluate(none, x86, nr, [6]uint64{})
				if w != profile.ActAllow && n == profile.ActAllow {
					t.Errorf("%s: %s refused with %d capabilities, allowed without", d.Ref(), name, len(caps))
				}
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }

func allCaps() []string {
	// Every capability a default names (the strictest comparison needs
	// only those).
	return []string{"CAP_SYS_ADMIN", "CAP_SYS_PTRACE", "CAP_SYS_BOOT", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_PACCT",
		"CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_SYSLOG", "CAP_BPF", "CAP_PERFMON",
		"CAP_DAC_READ_SEARCH", "CAP_SYS_CHROOT", "CAP_NET_ADMIN", "CAP_LINUX_IMMUTABLE", "CAP_IPC_LOCK"}
}

func dryRunState(since time.Time, logged ...string) *v1alpha1.ContainerSeccompState {
	st := &v1alpha1.ContainerSeccompState{Namespace: "ns", Container: "app", ContainerID: "containerd://abc",
		Declared: DeclaredDryRun, Mode: v1alpha1.SeccompModeFilter, DryRun: &v1alpha1.ContainerDryRun{Since: metav1.NewTime(since)}}
	if len(logged) > 0 {
		st.DryRun.Logged = []v1alpha1.DryRunSyscalls{{ABI: "x86_64", Syscalls: logged}}
	}
	return st
}

// The verdict from a dry run: what it logged, judged for the container's
// own capabilities; safe only once it watched long enough without missing
// records; the dry run settles what recorded names cannot (arguments).
func TestJudgeDryRun(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day2, hour := now.Add(-48*time.Hour), now.Add(-time.Hour)
	reading := &v1alpha1.NodeRecords{Source: "audit-netlink", Reading: true}
	lost := &v1alpha1.NodeRecords{Source: "audit-netlink", Reading: true, Lost: 3, LastLossTime: ptr(metav1.NewTime(now.Add(-time.Hour)))}
	src := &Sources{Recordings: []v1alpha1.ProfileRecording{
		recordingOf("persona", append(basic, "personality")...),
		recordingOf("plain", basic...),
		recordingOf("userns", append(basic, "unshare")...),
	}}
	containerd := NodeTarget("n1", node("containerd://1.6.20"), "")
	docker := NodeTarget("n1", node("containerd://1.6.20"), "docker@v0.1.0")
	sysAdmin := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
	for _, c := range []struct {
		name     string
		pod      *corev1.Pod
		st       *v1alpha1.ContainerSeccompState
		rec      *v1alpha1.NodeRecords
		t        *Target
		verdict  Verdict
		refused  string
		fix      FixKind
		reasonIn string
	}{
		{"logged unshare", pod("other", nil), dryRunState(hour, "unshare", "read"), reading, &containerd, Breaks, "unshare:breaks", FixRecord, ""},
		// clone with namespace flags: a recording's clone is a note, a
		// logged one was made with a refused flag.
		{"logged clone", pod("other", nil), dryRunState(hour, "clone"), reading, &containerd, Breaks, "clone:breaks", FixRecord, ""},
		{"clone3 stays a note", pod("other", nil), dryRunState(day2, "clone3"), reading, &containerd, Safe, "clone3:enosys", FixRuntimeDefault, ""},
		// Logged without capabilities, allowed with the container's own.
		{"mount with SYS_ADMIN", pod("other", sysAdmin), dryRunState(day2, "mount", "umount2"), reading, &docker, Safe, "", FixRuntimeDefault, ""},
		{"mount without", pod("other", nil), dryRunState(day2, "mount"), reading, &docker, Breaks, "mount:breaks", FixRecord, ""},
		{"nothing logged, soaked", pod("other", nil), dryRunState(day2), reading, &containerd, Safe, "", FixRuntimeDefault, ""},
		{"nothing logged, an hour", pod("other", nil), dryRunState(hour), reading, &containerd, Unknown, "", FixRecord, "dry run for 1h0m0s of the 24h0m0s asked"},
		{"records lost during it", pod("other", nil), dryRunState(day2), lost, &containerd, Unknown, "", FixRecord, "records were lost"},
		{"records lost, but a refusal seen", pod("other", nil), dryRunState(day2, "keyctl"), lost, &containerd, Breaks, "keyctl:breaks", FixRecord, ""},
		{"no source", pod("other", nil), dryRunState(day2), &v1alpha1.NodeRecords{Message: "audit is off"}, &containerd, Unknown, "", FixRecord, "audit is off"},
		{"not reported", pod("other", nil), &v1alpha1.ContainerSeccompState{Declared: DeclaredDryRun}, reading, &containerd, Unknown, "", FixRecord, "no dry run reported"},
		// A recording holds personality, names only: depends; a soaked
		// dry run that logged none settles it.
		{"recording depends, dry run settles", pod("persona", nil), dryRunState(day2), reading, &containerd, Safe, "personality:settled", FixRuntimeDefault, ""},
		{"recording depends, dry run short", pod("persona", nil), dryRunState(hour), reading, &containerd, Depends, "personality:arguments", "", ""},
		{"recording depends, dry run logged it", pod("persona", nil), dryRunState(day2, "personality"), reading, &containerd, Breaks, "personality:breaks", FixLearned, ""},
		// A recording's breakage stands: the dry run did not exercise it.
		{"recording breaks, dry run quiet", pod("userns", nil), dryRunState(day2), reading, &containerd, Breaks, "unshare:breaks", FixPredefined, ""},
		{"recording safe, dry run logged", pod("plain", nil), dryRunState(hour, "add_key"), reading, &containerd, Breaks, "add_key:breaks", FixPredefined, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			rc := Running{Node: "n1", Namespace: "ns", Pod: c.pod.Name, Container: "app", Declared: DeclaredDryRun, Mode: v1alpha1.SeccompModeFilter}
			if !rc.Unconfined() {
				t.Fatal("a container under the dry run is not judged")
			}
			ev := append(src.For(c.pod, "app"), DryRunEvidence(c.st, c.rec, now))
			row := NewEvaluator(candidates()).Judge(rc, c.pod, c.t, ev)
			checkRow(t, row, c.verdict, c.refused, c.fix)
			if !strings.Contains(row.Reason, c.reasonIn) {
				t.Errorf("reason %q, want it to say %q", row.Reason, c.reasonIn)
			}
			if !row.NodeDefaultApplies {
				t.Errorf("a dry-run container declares nothing of its own")
			}
			t.Logf("%s: %s (%s) %+v", c.name, row.Verdict, row.Reason, row.Evidence[len(row.Evidence)-1].Source)
		})
	}
	// MinSoak is the caller's: an hour is enough when asked.
	e := NewEvaluator(candidates())
	e.MinSoak = time.Hour
	p := pod("other", nil)
	rc := Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: DeclaredDryRun}
	if row := e.Judge(rc, p, &containerd, []Evidence{DryRunEvidence(dryRunState(hour), reading, now)}); row.Verdict != Safe {
		t.Errorf("min soak 1h, soaked 1h: %s (%s)", row.Verdict, row.Reason)
	}
}
