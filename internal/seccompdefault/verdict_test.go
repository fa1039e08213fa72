package seccompdefault

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func node(rv string) *corev1.Node {
	return &corev1.Node{Status: corev1.NodeStatus{NodeInfo: corev1.NodeSystemInfo{
		ContainerRuntimeVersion: rv, Architecture: "amd64", KernelVersion: "6.1.0-18-amd64"}}}
}

func recordingOf(app string, syscalls ...string) v1alpha1.ProfileRecording {
	r := v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: app},
		Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
	c := v1alpha1.RecordedContainer{Name: "app", Replicas: 2, Architectures: []string{"x86_64"}}
	for _, s := range syscalls {
		c.Syscalls = append(c.Syscalls, v1alpha1.RecordedSyscall{Name: s, Replicas: 2})
	}
	r.Status.Containers = []v1alpha1.RecordedContainer{c}
	return r
}

func pod(app string, sc *corev1.SecurityContext) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: app + "-1", Labels: map[string]string{"app": app, "pod-template-hash": "abc"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", SecurityContext: sc}}}}
}

func candidates() []Predefined {
	var out []Predefined
	for _, p := range predefined.All() {
		out = append(out, Predefined{Name: p.Name, Profile: p.Profile})
	}
	return out
}

var basic = []string{"read", "write", "openat", "close", "fstat", "mmap", "exit_group", "futex", "epoll_wait"}

func TestJudge(t *testing.T) {
	src := &Sources{Recordings: []v1alpha1.ProfileRecording{
		recordingOf("plain", basic...),
		recordingOf("userns", append(basic, "unshare")...),
		recordingOf("mounter", append(basic, "mount", "umount2")...),
		recordingOf("forker", append(basic, "clone", "clone3", "socket")...),
		recordingOf("persona", append(basic, "clone", "personality")...),
		recordingOf("keys", append(basic, "clone3", "personality", "add_key")...),
	}}
	containerd2 := NodeTarget("n1", node("containerd://2.1.9"), "")
	containerd := NodeTarget("n1", node("containerd://1.6.20"), "")
	docker := NodeTarget("n1", node("containerd://1.6.20"), "docker@v0.1.0")
	sysAdmin := &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"SYS_ADMIN"}}}
	for _, c := range []struct {
		name    string
		pod     *corev1.Pod
		priv    bool
		t       *Target
		verdict Verdict
		refused string
		fix     FixKind
	}{
		{"plain", pod("plain", nil), false, &containerd, Safe, "", FixRuntimeDefault},
		{"userns", pod("userns", nil), false, &containerd, Breaks, "unshare:breaks", ""},
		// clone3's ENOSYS and clone's namespace flags are notes: every
		// forking program makes them, glibc falls back from clone3.
		{"forker", pod("forker", nil), false, &containerd, Safe, "clone:common,clone3:enosys", FixRuntimeDefault},
		{"forker on containerd 2", pod("forker", nil), false, &containerd2, Safe, "clone:common,clone3:enosys,socket:common", FixRuntimeDefault},
		// personality is refused for some values: names cannot say which.
		{"personality", pod("persona", nil), false, &containerd, Depends, "clone:common,personality:arguments", ""},
		{"breaks wins", pod("keys", nil), false, &containerd, Breaks, "add_key:breaks,clone3:enosys,personality:arguments", ""},
		{"no recording", pod("other", nil), false, &containerd, Unknown, "", FixRecord},
		{"privileged", pod("userns", nil), true, &containerd, Unaffected, "", ""},
		{"mount without SYS_ADMIN", pod("mounter", nil), false, &docker, Breaks, "mount:breaks,umount2:breaks", ""},
		{"mount with SYS_ADMIN", pod("mounter", sysAdmin), false, &docker, Safe, "", FixRuntimeDefault},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := NewEvaluator(candidates())
			rc := Running{Node: "n1", Namespace: "ns", Pod: c.pod.Name, Container: "app", Declared: "NodeDefault", Privileged: c.priv}
			row := e.Judge(rc, c.pod, c.t, src.For(c.pod, "app"))
			checkRow(t, row, c.verdict, c.refused, c.fix)
			if (c.verdict == Breaks || c.verdict == Depends) && row.Fix == nil {
				t.Errorf("breaks without a fix")
			}
			if c.fix == FixRecord && !strings.Contains(row.Fix.Command, `podSelector: {matchLabels: {"app": "other"}}`) {
				t.Errorf("record command %q", row.Fix.Command)
			}
			t.Logf("%s: %s %+v", c.name, row.Verdict, row.Fix)
		})
	}
}

// A workload nothing predefined fits: the fix is its recording's learned
// profile, or, before one is learned, switching the recording to Applying.
func TestJudgeLearnedFix(t *testing.T) {
	rec := recordingOf("kexec", append(basic, "kexec_load")...)
	p := pod("kexec", nil)
	containerd := NodeTarget("n1", node("containerd://1.6.20"), "")
	rc := Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: "Unconfined"}

	src := &Sources{Recordings: []v1alpha1.ProfileRecording{rec}}
	row := NewEvaluator(candidates()).Judge(rc, p, &containerd, src.For(p, "app"))
	if row.Verdict != Breaks || row.Fix == nil || row.Fix.Kind != FixLearned || !strings.Contains(row.Fix.Command, "kubectl -n ns patch prec kexec") {
		t.Errorf("before a profile is learned: %s %+v", row.Verdict, row.Fix)
	}
	if row.NodeDefaultApplies {
		t.Errorf("a pod declaring Unconfined is not changed by SeccompDefault alone")
	}

	rec.Status.Containers[0].Profile = "learned-kexec"
	learned := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "learned-kexec"}, Spec: v1alpha1.SeccompProfileSpec{
		DefaultAction: "SCMP_ACT_ERRNO", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"},
		Syscalls: []v1alpha1.SyscallRule{{Names: append(append([]string{}, basic...), "kexec_load", "reboot"), Action: "SCMP_ACT_ALLOW"}}}}
	src = &Sources{Recordings: []v1alpha1.ProfileRecording{rec}, Profiles: map[string]*v1alpha1.SeccompProfile{"learned-kexec": learned}}
	ev := src.For(p, "app")
	if len(ev) != 2 || ev[1].Kind != EvidenceProfile {
		t.Fatalf("evidence %+v, want the recording and its learned profile", ev)
	}
	row = NewEvaluator(candidates()).Judge(rc, p, &containerd, ev)
	var names []string
	for _, r := range row.Refused {
		names = append(names, r.Syscall)
	}
	// The learned profile's reboot (what the soak added) counts too.
	if row.Verdict != Breaks || strings.Join(names, ",") != "kexec_load,reboot" || row.Fix == nil || row.Fix.Kind != FixLearned || row.Fix.Profile != "learned-kexec" {
		t.Errorf("with the learned profile: %s %v %+v", row.Verdict, names, row.Fix)
	}
}

// The fix names the smallest predefined profile that fits, not the first,
// and never one that refuses something the evidence holds.
func TestJudgeSmallestPredefined(t *testing.T) {
	allow := func(names ...string) *profile.Profile {
		return &profile.Profile{DefaultAction: profile.ActErrno, Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
			Syscalls: []profile.Syscall{{Names: names, Action: profile.ActAllow}}}
	}
	with := func(extra ...string) []string { return append(append([]string{}, basic...), extra...) }
	cands := []Predefined{
		{Name: "big", Profile: allow(with("unshare", "clone3", "mount", "setns", "pivot_root")...)},
		{Name: "tiny", Profile: allow(basic...)},
		{Name: "small", Profile: allow(with("unshare", "clone3")...)},
	}
	src := &Sources{Recordings: []v1alpha1.ProfileRecording{recordingOf("userns", with("unshare")...)}}
	p := pod("userns", nil)
	containerd := NodeTarget("n1", node("containerd://1.6.20"), "")
	row := NewEvaluator(cands).Judge(Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: "NodeDefault"}, p, &containerd, src.For(p, "app"))
	if row.Verdict != Breaks || row.Fix == nil || row.Fix.Kind != FixPredefined || row.Fix.Profile != "small" {
		t.Errorf("%s %+v, want the predefined profile small", row.Verdict, row.Fix)
	}
}

// Names a recording saw only the runtime's set-up make (runc's init
// before exec, in an unconfined container) are left out of the evidence,
// the recording's and its learned profile's: RuntimeDefault is loaded
// after them. The evidence says which; a name the workload made too, or
// the learned profile's soak would have denied, still counts.
func TestJudgeLeavesOutTheRuntimesSetUp(t *testing.T) {
	markRuntime := func(r *v1alpha1.ProfileRecording, names ...string) {
		for i := range r.Status.Containers[0].Syscalls {
			sc := &r.Status.Containers[0].Syscalls[i]
			sc.RuntimeOnly = slices.Contains(names, sc.Name)
		}
	}
	setUp := []string{"fsopen", "keyctl", "mount", "pivot_root"}
	plain := recordingOf("plain", append(basic, setUp...)...)
	markRuntime(&plain, setUp...)
	keys := recordingOf("keys", append(basic, setUp...)...)
	markRuntime(&keys, "fsopen", "mount", "pivot_root")
	src := &Sources{Recordings: []v1alpha1.ProfileRecording{plain, keys}}
	containerd := NodeTarget("n1", node("containerd://1.6.20"), "")
	judge := func(app string) (Row, []string) {
		p := pod(app, nil)
		row := NewEvaluator(candidates()).Judge(Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: "Unconfined"}, p, &containerd, src.For(p, "app"))
		var names []string
		for _, r := range row.Refused {
			if r.Effect == EffectBreaks {
				names = append(names, r.Syscall)
			}
		}
		return row, names
	}
	row, broken := judge("plain")
	if row.Verdict != Safe || len(row.Evidence) != 1 || !slices.Equal(row.Evidence[0].RuntimeOnly, setUp) ||
		!strings.Contains(row.Evidence[0].Source, "4 only the runtime's set-up made, left out") {
		t.Errorf("plain: %s %v, evidence %+v: want safe, the set-up named as left out", row.Verdict, broken, row.Evidence)
	}
	if row, broken = judge("keys"); row.Verdict != Breaks || !slices.Equal(broken, []string{"keyctl"}) {
		t.Errorf("keys: %s %v, want breaking on keyctl alone (the workload's)", row.Verdict, broken)
	}

	// The learned profile allows the set-up (the workload ran without a
	// filter); its soak would have denied pivot_root: the workload's.
	src.Recordings[0].Status.Containers[0].Profile = "learned-plain"
	src.Recordings[0].Status.Containers[0].WouldDeny = []string{"pivot_root"}
	src.Profiles = map[string]*v1alpha1.SeccompProfile{"learned-plain": {ObjectMeta: metav1.ObjectMeta{Name: "learned-plain"}, Spec: v1alpha1.SeccompProfileSpec{
		DefaultAction: "SCMP_ACT_ERRNO", Architectures: []v1alpha1.Arch{"SCMP_ARCH_X86_64"},
		Syscalls: []v1alpha1.SyscallRule{{Names: append(append([]string{}, basic...), setUp...), Action: "SCMP_ACT_ALLOW"}}}}}
	row, broken = judge("plain")
	if len(row.Evidence) != 2 || !slices.Equal(row.Evidence[1].RuntimeOnly, []string{"fsopen", "keyctl", "mount"}) {
		t.Fatalf("evidence %+v, want the learned profile without fsopen, keyctl, mount", row.Evidence)
	}
	if row.Verdict != Breaks || !slices.Equal(broken, []string{"pivot_root"}) {
		t.Errorf("with the learned profile: %s %v, want breaking on pivot_root alone", row.Verdict, broken)
	}
}

// checkRow: the row's verdict, its refusals as "syscall:effect" joined by
// commas, and its fix's kind unless fix is "".
func checkRow(t *testing.T, row Row, verdict Verdict, refused string, fix FixKind) {
	t.Helper()
	if row.Verdict != verdict {
		t.Fatalf("verdict %s (%s), want %s", row.Verdict, row.Reason, verdict)
	}
	var names []string
	for _, r := range row.Refused {
		names = append(names, r.Syscall+":"+string(r.Effect))
	}
	if got := strings.Join(names, ","); got != refused {
		t.Errorf("refused %s, want %s", got, refused)
	}
	if fix != "" && (row.Fix == nil || row.Fix.Kind != fix) {
		t.Errorf("fix %+v, want %s", row.Fix, fix)
	}
}
