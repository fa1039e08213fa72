package controller

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func testRecording(strategy v1alpha1.MergeStrategy) *v1alpha1.ProfileRecording {
	return &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "shop", UID: "uid-1"},
		Spec: v1alpha1.ProfileRecordingSpec{MergeStrategy: strategy}}
}

func entry(pod, container string, src v1alpha1.RecordSource, arches []string, names ...string) v1alpha1.NodeRecording {
	return v1alpha1.NodeRecording{Recording: "shop/web", RecordingUID: "uid-1", Pod: pod, PodUID: "u-" + pod, Container: container,
		Source: src, Architectures: arches, Syscalls: names}
}

var x64 = []string{"x86_64"}

// Coverage: replicas are distinct pods, each syscall counts the pods that
// made it, architectures are the union; other UIDs are ignored; nodes and
// the recorders' losses are reported.
func TestMergeCoverage(t *testing.T) {
	r := testRecording("")
	other := entry("p9", "app", v1alpha1.RecordSourceEBPF, x64, "ptrace")
	other.RecordingUID = "uid-old"
	nodes := []v1alpha1.SeccompNodeStatus{
		{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{
			Recorder: &v1alpha1.NodeRecorder{Attached: true, Dropped: 2, Lost: 1},
			Recordings: []v1alpha1.NodeRecording{
				entry("p1", "app", v1alpha1.RecordSourceEBPF, x64, "read", "write", "openat"),
				entry("p2", "app", v1alpha1.RecordSourceEBPF, []string{"x86_64", "x86"}, "read", "socketcall"),
				other,
			}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n2"}, Status: v1alpha1.NodeState{Recordings: []v1alpha1.NodeRecording{
			entry("p3", "app", v1alpha1.RecordSourceLog, x64, "read", "write"),
			entry("p3", "sidecar", v1alpha1.RecordSourceEBPF, x64, "nanosleep"),
			// The same pod reported twice (e.g. a restarted agent): one replica.
			entry("p3", "sidecar", v1alpha1.RecordSourceEBPF, x64, "nanosleep", "exit_group"),
		}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "n3"}}, // records nothing of it
	}
	m := mergeRecordings(r, nodes)
	if got := m.nodes; !slices.Equal(got, []string{"n1", "n2"}) {
		t.Errorf("nodes %v", got)
	}
	if len(m.pods) != 3 || m.dropped != 3 || m.problemCount != 0 {
		t.Errorf("pods %d dropped %d problems %v", len(m.pods), m.dropped, m.problems)
	}
	st := m.statusContainers()
	if len(st) != 2 || st[0].Name != "app" || st[1].Name != "sidecar" {
		t.Fatalf("containers %+v", st)
	}
	app := st[0]
	want := []v1alpha1.RecordedSyscall{{Name: "openat", Replicas: 1}, {Name: "read", Replicas: 3}, {Name: "socketcall", Replicas: 1}, {Name: "write", Replicas: 2}}
	if app.Replicas != 3 || !slices.Equal(app.Syscalls, want) || !slices.Equal(app.Architectures, []string{"x86", "x86_64"}) {
		t.Errorf("app %+v", app)
	}
	if got := m.containers["app"].coverage(); got != "3,openat=1,socketcall=1,write=2" {
		t.Errorf("coverage %q", got)
	}
	if st[1].Replicas != 1 || len(st[1].Syscalls) != 2 {
		t.Errorf("sidecar %+v", st[1])
	}
	// The learned profile: denies by default, allows the recorded names,
	// lists the x86_64 family (x86 was seen, arm64 never was).
	p := learnedProfile(m.containers["app"], v1alpha1.ModeComplain)
	if p.DefaultAction != "SCMP_ACT_ERRNO" || p.Mode != v1alpha1.ModeComplain || len(p.Syscalls) != 2 ||
		!slices.Equal(p.Syscalls[0].Names, []string{"openat", "read", "socketcall", "write"}) {
		t.Errorf("profile %+v", p)
	}
	if got := p.Architectures; !slices.Equal(got, []v1alpha1.Arch{"SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"}) {
		t.Errorf("architectures %v", got)
	}
}

// Complain entries become wouldDeny and part of the profile, not of the
// coverage; enforce entries are reported as denied and never added.
func TestMergeSoakAndDenials(t *testing.T) {
	r := testRecording("")
	nodes := []v1alpha1.SeccompNodeStatus{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{Recordings: []v1alpha1.NodeRecording{
		entry("p1", "app", v1alpha1.RecordSourceEBPF, x64, "read"),
		entry("p1", "app", v1alpha1.RecordSourceComplain, x64, "getrandom"),
		entry("p2", "app", v1alpha1.RecordSourceEnforce, x64, "ptrace"),
	}}}}
	m := mergeRecordings(r, nodes)
	st := m.statusContainers()
	if len(st) != 1 || st[0].Replicas != 1 || !slices.Equal(st[0].WouldDeny, []string{"getrandom"}) || !slices.Equal(st[0].Denied, []string{"ptrace"}) || !m.denials {
		t.Fatalf("status %+v denials %v", st, m.denials)
	}
	if got := m.containers["app"].coverage(); got != "1" {
		t.Errorf("coverage %q", got)
	}
	p := learnedProfile(m.containers["app"], v1alpha1.ModeEnforce)
	if !slices.Equal(p.Syscalls[0].Names, []string{"getrandom", "read"}) {
		t.Errorf("profile names %v", p.Syscalls[0].Names)
	}
}

// mergeStrategy none: one key per pod and container; arm64 stays arm64.
func TestMergePerPod(t *testing.T) {
	r := testRecording(v1alpha1.MergeNone)
	nodes := []v1alpha1.SeccompNodeStatus{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{Recordings: []v1alpha1.NodeRecording{
		entry("p1", "app", v1alpha1.RecordSourceEBPF, []string{"aarch64"}, "read"),
		entry("p2", "app", v1alpha1.RecordSourceEBPF, []string{"aarch64"}, "write"),
	}}}}
	m := mergeRecordings(r, nodes)
	if got := sortedKeys(m.containers); !slices.Equal(got, []string{"p1/app", "p2/app"}) {
		t.Fatalf("keys %v", got)
	}
	if got := learnedProfile(m.containers["p1/app"], v1alpha1.ModeComplain).Architectures; !slices.Equal(got, []v1alpha1.Arch{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}) {
		t.Errorf("architectures %v", got)
	}
}

// What cannot be used is reported, the rest merged.
func TestMergeReportsUnusable(t *testing.T) {
	r := testRecording("")
	bad := entry("p2", "app", v1alpha1.RecordSourceEBPF, []string{"vax"}, "read")
	nosrc := entry("p3", "app", "bogus", x64, "read")
	nouid := entry("p4", "app", v1alpha1.RecordSourceEBPF, x64, "read")
	nouid.PodUID = ""
	nodes := []v1alpha1.SeccompNodeStatus{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{Recordings: []v1alpha1.NodeRecording{
		entry("p1", "app", v1alpha1.RecordSourceEBPF, []string{"x86_64", "mips9"}, "read", "no_such_call", "read"),
		bad, nosrc, nouid,
	}}}}
	m := mergeRecordings(r, nodes)
	s := m.problemSummary()
	for _, want := range []string{`"mips9"`, `"no_such_call"`, `"vax"`, `"bogus"`, "and 1 more"} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %s: %s", want, s)
		}
	}
	if m.problemCount != 6 {
		t.Errorf("%d problems, want 6 (the 6th: the entry without pod UID)", m.problemCount)
	}
	st := m.statusContainers()
	if len(st) != 1 || st[0].Replicas != 1 || len(st[0].Syscalls) != 1 || st[0].Syscalls[0] != (v1alpha1.RecordedSyscall{Name: "read", Replicas: 1}) {
		t.Errorf("status %+v", st)
	}
}

// FuzzMergeNodeStates reads node states as they come back from the API
// (JSON): whatever they hold, the merge does not panic, keeps the status
// within the API's limits, and every entry of the recording is either
// merged or counted as a problem.
func FuzzMergeNodeStates(f *testing.F) {
	f.Add([]byte(`[{"metadata":{"name":"n1"},"status":{"recorder":{"attached":true,"dropped":3},"recordings":[{"recording":"shop/web","recordingUID":"uid-1","pod":"p","podUID":"u","container":"c","source":"ebpf","architectures":["x86_64","x86"],"syscalls":["read","socketcall"]}]}}]`))
	f.Add([]byte(`[{"status":{"recordings":[{"recordingUID":"uid-1","pod":"p","podUID":"u","container":"c","source":"complain","architectures":["SCMP_ARCH_AARCH64","sparc"],"syscalls":["","read","read"]}]}}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var nodes []v1alpha1.SeccompNodeStatus
		if json.Unmarshal(data, &nodes) != nil {
			return
		}
		for _, strategy := range []v1alpha1.MergeStrategy{"", v1alpha1.MergeNone} {
			r := testRecording(strategy)
			m := mergeRecordings(r, nodes)
			st := m.statusContainers()
			total := 0
			for _, c := range st {
				total += len(c.Syscalls)
				if len(c.Syscalls) > maxStatusSyscalls || len(c.WouldDeny) > maxStatusSyscalls || len(c.Denied) > maxStatusSyscalls || len(c.Architectures) > maxStatusArches {
					t.Fatalf("container %s beyond the API's limits", c.Name)
				}
			}
			if len(st) > maxStatusContainers || total > maxStatusEntries {
				t.Fatalf("%d containers, %d syscall entries", len(st), total)
			}
			mine := 0
			for _, n := range nodes {
				for _, e := range n.Status.Recordings {
					if e.RecordingUID == "uid-1" {
						mine++
					}
				}
			}
			if mine > 0 && len(m.containers) == 0 && m.problemCount == 0 {
				t.Fatalf("%d entries neither merged nor reported", mine)
			}
			for _, c := range m.containers {
				for _, s := range c.status.Syscalls {
					if s.Replicas < 1 || s.Replicas > c.status.Replicas {
						t.Fatalf("%s: %d of %d replicas", s.Name, s.Replicas, c.status.Replicas)
					}
				}
				_ = learnedProfile(c, v1alpha1.ModeComplain)
				_ = c.coverage()
			}
			_ = m.problemSummary()
		}
	})
}

// Many pods with mergeStrategy none: the status stays bounded (container
// count and syscall entries over all containers), and the cut is reported.
func TestMergeStatusBounded(t *testing.T) {
	r := testRecording(v1alpha1.MergeNone)
	a, _ := syscallsOf("x86_64")
	var entries []v1alpha1.NodeRecording
	for i := range 300 {
		entries = append(entries, entry(fmt.Sprintf("p%03d", i), "app", v1alpha1.RecordSourceEBPF, x64, a...))
	}
	m := mergeRecordings(r, []v1alpha1.SeccompNodeStatus{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{Recordings: entries}}})
	st := m.statusContainers()
	total := 0
	for _, c := range st {
		total += len(c.Syscalls)
	}
	if len(st) != maxStatusContainers || total > maxStatusEntries || m.problemCount != 2 {
		t.Errorf("%d containers, %d entries, problems %v", len(st), total, m.problems)
	}
	if len(m.containers) != 300 {
		t.Errorf("%d merged containers, want every one (profiles for all)", len(m.containers))
	}
}

func syscallsOf(abi string) ([]string, bool) {
	a, ok := syscalls.Get(abi)
	if !ok {
		return nil, false
	}
	return syscalls.Names(a), true
}

// Runtime-only: a name is runtime-only in the merge only if no replica's
// workload made it; the learned profile allows it all the same.
func TestMergeRuntimeOnly(t *testing.T) {
	r := testRecording("")
	p1 := entry("p1", "app", v1alpha1.RecordSourceEBPF, x64, "execve", "keyctl", "mount", "pivot_root", "read")
	p1.RuntimeOnly = []string{"keyctl", "mount", "pivot_root"}
	p2 := entry("p2", "app", v1alpha1.RecordSourceEBPF, x64, "execve", "keyctl", "mount", "read")
	p2.RuntimeOnly = []string{"mount"}
	// Not in its Syscalls: marks nothing.
	p2.RuntimeOnly = append(p2.RuntimeOnly, "ptrace")
	nodes := []v1alpha1.SeccompNodeStatus{{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Status: v1alpha1.NodeState{
		Recordings: []v1alpha1.NodeRecording{p1, p2}}}}
	m := mergeRecordings(r, nodes)
	st := m.statusContainers()
	if len(st) != 1 {
		t.Fatalf("containers %+v", st)
	}
	want := []v1alpha1.RecordedSyscall{{Name: "execve", Replicas: 2}, {Name: "keyctl", Replicas: 2},
		{Name: "mount", Replicas: 2, RuntimeOnly: true}, {Name: "pivot_root", Replicas: 1, RuntimeOnly: true}, {Name: "read", Replicas: 2}}
	if !slices.Equal(st[0].Syscalls, want) {
		t.Errorf("syscalls %+v, want %+v", st[0].Syscalls, want)
	}
	p := learnedProfile(m.containers["app"], v1alpha1.ModeComplain)
	if len(p.Syscalls) == 0 || !slices.Equal(p.Syscalls[0].Names, []string{"execve", "keyctl", "mount", "pivot_root", "read"}) {
		t.Errorf("learned profile %+v, want every recorded name", p.Syscalls)
	}
}
