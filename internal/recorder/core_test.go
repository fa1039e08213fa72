package recorder

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
)

// The program is attached only while a recording in mode Recording uses
// recorder ebpf; detaching harvests first, so nothing seen before the
// detach is lost.
func TestAttachOnlyWhileAnEBPFRecordingRecords(t *testing.T) {
	c, k, p := newTestCore(t)
	if c.syncKernel() || k.attached {
		t.Fatal("attached without a recording")
	}
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "logrec", v1alpha1.RecordingModeRecording, v1alpha1.RecorderLog, "web")})
	if c.syncKernel() || k.attached {
		t.Fatal("attached for a log recording")
	}
	r := rec("ns", "r", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")
	c.setRecordings([]*v1alpha1.ProfileRecording{r})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[7] = id(1)
	if !c.syncKernel() || !k.attached {
		t.Fatal("not attached for an ebpf recording")
	}
	if !c.syncKernel() || k.attaches != 1 {
		t.Fatalf("attached %d times", k.attaches)
	}
	k.saw(100, 7, "read")
	// The last syscalls before the detach are harvested.
	k.onDetach = func() { k.saw(100, 7, "write") }
	// Applying records on through the soak (the recorded pods' shutdown),
	// and stops once the profiles are enforced.
	applying := *r
	applying.Spec.Mode = v1alpha1.RecordingModeApplying
	applying.Status.Phase = v1alpha1.RecordingPhaseVerifying
	c.updateRecordings([]*v1alpha1.ProfileRecording{&applying})
	if !c.syncKernel() || !k.attached {
		t.Fatal("detached during the soak")
	}
	k.saw(100, 7, "wait4")
	enforcing := applying
	enforcing.Status.Phase = v1alpha1.RecordingPhaseEnforcing
	c.updateRecordings([]*v1alpha1.ProfileRecording{&enforcing})
	if !c.syncKernel() || k.attached {
		t.Fatal("still attached once the profiles are enforced")
	}
	c.harvest()
	list, st := c.nodeState()
	if st.Attached {
		t.Error("state says attached")
	}
	got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF)
	if got == nil || !slices.Equal(got.Syscalls, []string{"read", "wait4"}) {
		// write came after the profiles were enforced: the recording's
		// targets are gone, so it is not recorded.
		t.Fatalf("recorded %+v", got)
	}
	if c.syncKernel() {
		t.Error("harvests while detached")
	}
}

// A kernel entry goes, through its process's container and pod, to every
// recording that selects the pod and records the container; FromStart
// tells a container started after the attach.
func TestAttribution(t *testing.T) {
	c, k, p := newTestCore(t)
	a := rec("ns", "a", "", "", "web") // defaults: Recording, ebpf
	b := rec("ns", "b", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")
	b.Spec.Containers = []string{"app"}
	other := rec("other", "c", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")
	c.setRecordings([]*v1alpha1.ProfileRecording{a, b, other})
	c.setPods([]*corev1.Pod{
		pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1), "sidecar": id(2)}),
		pod("ns", "db-1", map[string]string{"app": "db"}, map[string]string{"db": id(3)}),
	})
	p.containers[10], p.containers[20], p.containers[30] = id(1), id(2), id(3)
	p.started[id(1)], p.started[id(2)] = 900, 1500 // before and after the attach at 1000
	c.syncKernel()
	k.saw(1, 10, "read", "openat")
	k.saw(2, 20, "write")
	k.saw(3, 30, "mmap")
	c.harvest()
	list, _ := c.nodeState()
	if len(list) != 3 {
		t.Fatalf("%d recordings, want 3 (a: app, sidecar; b: app): %+v", len(list), list)
	}
	app := find(list, "ns/a", "web-1", "app", v1alpha1.RecordSourceEBPF)
	if app == nil || !slices.Equal(app.Syscalls, []string{"openat", "read"}) || !slices.Equal(app.Architectures, []string{"x86_64"}) ||
		app.FromStart || app.PodUID != "uid-web-1" || app.RecordingUID != "uid-a" {
		t.Errorf("a's app: %+v", app)
	}
	side := find(list, "ns/a", "web-1", "sidecar", v1alpha1.RecordSourceEBPF)
	if side == nil || !side.FromStart || !slices.Equal(side.Syscalls, []string{"write"}) {
		t.Errorf("a's sidecar, started after the attach: %+v", side)
	}
	if find(list, "ns/b", "web-1", "sidecar", v1alpha1.RecordSourceEBPF) != nil || find(list, "ns/b", "web-1", "app", v1alpha1.RecordSourceEBPF) == nil {
		t.Errorf("b records app only: %+v", list)
	}
	// More syscalls later are added (the kernel's bitmap keeps growing).
	k.saw(1, 10, "close")
	c.harvest()
	list, _ = c.nodeState()
	if app := find(list, "ns/a", "web-1", "app", v1alpha1.RecordSourceEBPF); !slices.Equal(app.Syscalls, []string{"close", "openat", "read"}) {
		t.Errorf("after the second harvest: %+v", app.Syscalls)
	}
	// A recording created later that selects db records it from the
	// kernel's entry.
	c.setRecordings([]*v1alpha1.ProfileRecording{a, b, other, rec("ns", "d", "", "", "db")})
	c.harvest()
	list, _ = c.nodeState()
	if got := find(list, "ns/d", "db-1", "db", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.Syscalls, []string{"mmap"}) {
		t.Errorf("new recording of db: %+v", got)
	}
}

// A container that is gone (its pod deleted) is harvested one last time,
// then its kernel entry is deleted; its recording stays (the recording's
// data) until the recording is deleted.
func TestGoneContainerDeletedAfterLastHarvest(t *testing.T) {
	c, k, p := newTestCore(t)
	r := rec("ns", "r", "", "", "web")
	c.setRecordings([]*v1alpha1.ProfileRecording{r})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[10] = id(1)
	c.syncKernel()
	k.saw(1, 10, "read")
	c.harvest()
	k.saw(1, 10, "exit_group") // its last syscall
	c.setPods(nil)
	c.harvest()
	if !slices.Equal(k.deleted, []uint64{1}) {
		t.Fatalf("deleted %v, want the gone container's entry", k.deleted)
	}
	list, _ := c.nodeState()
	if got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.Syscalls, []string{"exit_group", "read"}) {
		t.Fatalf("the deleted pod's recording: %+v", got)
	}
	// The recording is deleted: its node recordings go.
	c.setRecordings(nil)
	if list, _ := c.nodeState(); len(list) != 0 {
		t.Errorf("recordings of a deleted recording kept: %+v", list)
	}
}

// A new recording of the same name (another UID) does not inherit the
// old one's node recordings.
func TestRecordingUIDChangeForgets(t *testing.T) {
	c, k, p := newTestCore(t)
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[10] = id(1)
	c.syncKernel()
	k.saw(1, 10, "read")
	c.harvest()
	again := rec("ns", "r", "", "", "nothing")
	again.UID = "uid-r-2"
	c.setRecordings([]*v1alpha1.ProfileRecording{again})
	if list, _ := c.nodeState(); len(list) != 0 {
		t.Errorf("kept the old recording's: %+v", list)
	}
}

// Entries that cannot be attributed are counted once each: the host's at
// once, a container of no pod and a vanished process after their graces
// (then the vanished one's kernel entry is freed).
func TestUnattributedCounted(t *testing.T) {
	c, k, p := newTestCore(t)
	clock := time.Unix(1000, 0)
	c.now = func() time.Time { return clock }
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	p.containers[1] = ""     // the host
	p.containers[50] = id(9) // no pod has it
	c.syncKernel()
	k.saw(11, 1, "read")
	k.saw(12, 50, "read")
	k.saw(13, 99, "read") // gone
	before := map[string]float64{}
	for _, r := range []string{ReasonNotContainer, ReasonNoPod, ReasonNoProcess} {
		before[r] = testutil.ToFloat64(unattributed.WithLabelValues(r))
	}
	delta := func(r string) float64 { return testutil.ToFloat64(unattributed.WithLabelValues(r)) - before[r] }
	for range 3 {
		c.harvest()
	}
	if delta(ReasonNotContainer) != 1 || delta(ReasonNoPod) != 0 || delta(ReasonNoProcess) != 0 {
		t.Fatalf("within the graces: not_container %v no_pod %v no_process %v", delta(ReasonNotContainer), delta(ReasonNoPod), delta(ReasonNoProcess))
	}
	clock = clock.Add(noPodGrace)
	c.harvest()
	c.harvest()
	if delta(ReasonNotContainer) != 1 || delta(ReasonNoPod) != 1 || delta(ReasonNoProcess) != 1 {
		t.Fatalf("past the graces: not_container %v no_pod %v no_process %v", delta(ReasonNotContainer), delta(ReasonNoPod), delta(ReasonNoProcess))
	}
	if len(k.deleted) != 0 {
		t.Errorf("deleted %v before the namespace could be known gone", k.deleted)
	}
	clock = clock.Add(noProcessForget)
	c.harvest()
	if !slices.Equal(k.deleted, []uint64{13}) {
		t.Errorf("deleted %v, want only the vanished process's namespace", k.deleted)
	}
	// The pod shows up late: its container is attributed after all.
	c.setPods([]*corev1.Pod{pod("ns", "late", map[string]string{"app": "web"}, map[string]string{"app": id(9)})})
	c.harvest()
	if list, _ := c.nodeState(); find(list, "ns/r", "late", "app", v1alpha1.RecordSourceEBPF) == nil {
		t.Errorf("the late pod's container not recorded: %+v", list)
	}
}

// At most MaxNodeRecordings node recordings; each further one is counted
// once in dropped, which goes on from the node state's count.
func TestBoundAndDropped(t *testing.T) {
	c, k, p := newTestCore(t)
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	c.restore(&v1alpha1.NodeState{Recorder: &v1alpha1.NodeRecorder{Dropped: 5}})
	var pods []*corev1.Pod
	n := v1alpha1.MaxNodeRecordings + 3
	for i := range n {
		cid := strings.Repeat("0", 60) + strings.Repeat(string("0123456789abcdef"[i%16]), 1) + string("0123456789abcdef"[(i/16)%16]) + string("0123456789abcdef"[(i/256)%16]) + "0"
		pods = append(pods, pod("ns", "p"+cid[60:], map[string]string{"app": "web"}, map[string]string{"app": cid}))
		p.containers[1000+i] = cid
		k.saw(uint64(1000+i), 1000+i, "read")
	}
	c.setPods(pods)
	c.syncKernel()
	c.harvest()
	c.harvest()
	list, st := c.nodeState()
	if len(list) != v1alpha1.MaxNodeRecordings {
		t.Errorf("%d node recordings, want %d", len(list), v1alpha1.MaxNodeRecordings)
	}
	if st.Dropped != 5+3 {
		t.Errorf("dropped %d, want 5 before and 3 now (each once)", st.Dropped)
	}
	b, err := json.Marshal(list)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("node state's recordings of %d pods with 1 syscall: %d bytes", len(list), len(b))
}

// A restarted agent starts from the node state's recordings, keeps those
// of recordings that still exist, and unions what it records next.
func TestRestoreAndContinue(t *testing.T) {
	c, k, p := newTestCore(t)
	r := rec("ns", "r", "", "", "web")
	c.setRecordings([]*v1alpha1.ProfileRecording{r})
	c.restore(&v1alpha1.NodeState{Recordings: []v1alpha1.NodeRecording{
		{Recording: "ns/r", RecordingUID: "uid-r", Pod: "web-1", PodUID: "uid-web-1", Container: "app", Source: v1alpha1.RecordSourceEBPF,
			FromStart: true, Architectures: []string{"x86_64"}, Syscalls: []string{"execve", "read"}},
		{Recording: "ns/r", RecordingUID: "uid-old", Pod: "web-0", PodUID: "uid-web-0", Container: "app", Source: v1alpha1.RecordSourceEBPF, Syscalls: []string{"read"}},
		{Recording: "ns/gone", RecordingUID: "uid-gone", Pod: "web-1", PodUID: "uid-web-1", Container: "app", Source: v1alpha1.RecordSourceEBPF, Syscalls: []string{"read"}},
	}})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[10] = id(1)
	c.syncKernel()
	k.saw(1, 10, "write")
	c.harvest()
	list, _ := c.nodeState()
	if len(list) != 1 {
		t.Fatalf("kept %+v, want only the existing recording's", list)
	}
	if got := list[0]; !got.FromStart || !slices.Equal(got.Syscalls, []string{"execve", "read", "write"}) {
		t.Errorf("continued: %+v", got)
	}
}

// Violations: under a log recording's profile → source log; under an
// applying recording's learned profile → complain (action log) or enforce;
// any other record → nothing.
func TestViolationSources(t *testing.T) {
	c, _, _ := newTestCore(t)
	logRec := rec("ns", "lr", v1alpha1.RecordingModeRecording, v1alpha1.RecorderLog, "web")
	logRec.Spec.Containers = []string{"app"}
	applying := rec("ns", "ar", v1alpha1.RecordingModeApplying, v1alpha1.RecorderEBPF, "db")
	none := rec("ns", "nr", v1alpha1.RecordingModeApplying, v1alpha1.RecorderEBPF, "db")
	none.Spec.MergeStrategy = v1alpha1.MergeNone
	disabled := rec("ns", "dr", v1alpha1.RecordingModeDisabled, v1alpha1.RecorderLog, "web")
	c.setRecordings([]*v1alpha1.ProfileRecording{logRec, applying, none, disabled})
	v := func(podName, container, profile, syscall, action string) nodekube.Violation {
		return nodekube.Violation{Namespace: "ns", Pod: podName, PodUID: "uid-" + podName, Container: container, Profile: profile,
			ABI: "x86_64", Syscall: syscall, Action: action}
	}
	c.violation(v("web-1", "app", recordings.LogProfileName(logRec), "read", "log"))
	c.violation(v("web-1", "app", recordings.LogProfileName(logRec), "83", "log")) // unnamed: counted, not a name
	c.violation(v("web-1", "sidecar", recordings.LogProfileName(logRec), "read", "log"))
	c.violation(v("web-1", "app", recordings.LogProfileName(disabled), "read", "log"))
	c.violation(v("db-1", "db", recordings.ProfileName(applying, "db"), "mkdir", "log"))
	c.violation(v("db-1", "db", recordings.ProfileName(applying, "db"), "rmdir", "errno"))
	c.violation(v("db-1", "db", recordings.ProfileName(none, "db-1/db"), "chmod", "errno"))
	c.violation(v("db-1", "db", "someone-elses", "chown", "errno"))
	c.violation(v("db-1", "db", recordings.ProfileName(applying, "other"), "chown", "errno"))
	list, _ := c.nodeState()
	want := map[[4]string][]string{
		{"ns/lr", "web-1", "app", "log"}:    {"read"},
		{"ns/ar", "db-1", "db", "complain"}: {"mkdir"},
		{"ns/ar", "db-1", "db", "enforce"}:  {"rmdir"},
		{"ns/nr", "db-1", "db", "enforce"}:  {"chmod"},
	}
	if len(list) != len(want) {
		t.Errorf("recorded %+v, want %v", list, want)
	}
	for k, names := range want {
		got := find(list, k[0], k[1], k[2], v1alpha1.RecordSource(k[3]))
		if got == nil || !slices.Equal(got.Syscalls, names) {
			t.Errorf("%v: %+v, want %v", k, got, names)
		}
	}
	if got := find(list, "ns/lr", "web-1", "app", "log"); got == nil || !got.FromStart {
		t.Errorf("a log recording runs from the pod's start: %+v", got)
	}
	if n := c.store.unnamed(); n != 1 {
		t.Errorf("%d unnamed, want 1", n)
	}
}

// The node state is patched in its recordings and recorder only, and only
// when they differ.
func TestStatePatch(t *testing.T) {
	recs := []v1alpha1.NodeRecording{{Recording: "ns/r", RecordingUID: "u", Pod: "p", PodUID: "pu", Container: "c", Source: "ebpf", Syscalls: []string{"read"}}}
	rec := &v1alpha1.NodeRecorder{Attached: true}
	cur := v1alpha1.NodeState{Profiles: []v1alpha1.NodeProfileState{{Name: "x"}}, Recordings: recs, Recorder: &v1alpha1.NodeRecorder{Attached: true}}
	if p, err := statePatch(&cur, recs, rec); err != nil || p != nil {
		t.Errorf("patch %s %v for no change", p, err)
	}
	p, err := statePatch(&cur, nil, &v1alpha1.NodeRecorder{Message: "eBPF unavailable: x"})
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != `{"status":{"recorder":{"attached":false,"dropped":null,"lost":null,"message":"eBPF unavailable: x"},"recordings":null}}` {
		t.Errorf("patch %s", p)
	}
	// A message the recorder no longer has is removed (null), not left.
	cur.Recorder = &v1alpha1.NodeRecorder{Message: "eBPF unavailable: x", Lost: 3}
	p, err = statePatch(&cur, recs, rec)
	if err != nil {
		t.Fatal(err)
	}
	if string(p) != `{"status":{"recorder":{"attached":true,"dropped":null,"lost":null,"message":null}}}` {
		t.Errorf("patch %s", p)
	}
}

// Without an in-kernel recorder the state says why, and violations still
// record.
func TestNoKernel(t *testing.T) {
	c := newCore(nil, ErrNoKernel, newFakeProcs(), logr.Discard())
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	if c.syncKernel() {
		t.Error("harvest without a kernel")
	}
	c.harvest()
	_, st := c.nodeState()
	if st.Attached || st.Message != "eBPF unavailable: "+ErrNoKernel.Error() {
		t.Errorf("state %+v", st)
	}
}

// The kernel reuses a dead namespace's inode for a new container: the
// dead one's entry is not deleted while the live one shares its inode
// (Delete would take the live one's bits since the harvest), and each is
// attributed to its own container.
func TestReusedInode(t *testing.T) {
	c, k, p := newTestCore(t)
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	c.setPods([]*corev1.Pod{pod("ns", "old", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[10] = id(1)
	c.syncKernel()
	k.sawID(101, 7, 10, "read")
	c.harvest()
	// old's container exits, new's gets inode 7 again.
	c.setPods([]*corev1.Pod{pod("ns", "new", map[string]string{"app": "web"}, map[string]string{"app": id(2)})})
	p.containers[20] = id(2)
	k.sawID(102, 7, 20, "write")
	c.harvest()
	if len(k.deleted) != 0 {
		t.Fatalf("deleted inode %v while a live container uses it", k.deleted)
	}
	list, _ := c.nodeState()
	o, n := find(list, "ns/r", "old", "app", "ebpf"), find(list, "ns/r", "new", "app", "ebpf")
	if o == nil || n == nil || !slices.Equal(o.Syscalls, []string{"read"}) || !slices.Equal(n.Syscalls, []string{"write"}) {
		t.Fatalf("old %+v new %+v", o, n)
	}
	// new's pod goes too: both entries are deleted, after a last harvest.
	k.sawID(102, 7, 20, "exit_group")
	c.setPods(nil)
	c.harvest()
	if !slices.Equal(k.deleted, []uint64{7}) || len(k.entries) != 0 {
		t.Errorf("deleted %v, left %v", k.deleted, k.entries)
	}
	list, _ = c.nodeState()
	if n := find(list, "ns/r", "new", "app", "ebpf"); !slices.Equal(n.Syscalls, []string{"exit_group", "write"}) {
		t.Errorf("new's last harvest: %+v", n)
	}
}

// The kernel's Pid is the last process to make a new syscall, often a
// child that has exited: a live process of the namespace attributes it,
// and the search (a walk of /proc) is not repeated every harvest.
func TestLivePidOfNamespace(t *testing.T) {
	c, k, p := newTestCore(t)
	clock := time.Unix(1000, 0)
	c.now = func() time.Time { return clock }
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})})
	p.containers[10] = id(1) // the shell; 11, the child that made the last new syscall, is gone
	c.syncKernel()
	k.saw(5, 11, "read", "mkdirat")
	c.harvest()
	c.harvest()
	if k.finds != 1 {
		t.Errorf("%d searches, want 1 within findEvery", k.finds)
	}
	k.live[5] = 10
	clock = clock.Add(findEvery)
	c.harvest()
	list, _ := c.nodeState()
	if got := find(list, "ns/r", "web-1", "app", "ebpf"); got == nil || !slices.Equal(got.Syscalls, []string{"mkdirat", "read"}) {
		t.Fatalf("recorded %+v", list)
	}
}

// A container the runtime confines is recorded with what its tasks did
// under a filter: the runtime's set-up before it loaded the filter (mount,
// pivot_root) stays out. An unconfined container's recording has all.
func TestConfinedContainerLeavesOutTheRuntimesSetUp(t *testing.T) {
	c, k, p := newTestCore(t)
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")})
	confinedPod := pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})
	confinedPod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	unconfinedPod := pod("ns", "web-2", map[string]string{"app": "web"}, map[string]string{"app": id(2)})
	unconfinedPod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
	c.setPods([]*corev1.Pod{confinedPod, unconfinedPod})
	p.containers[7], p.containers[8] = id(1), id(2)
	if !c.syncKernel() {
		t.Fatal("not attached")
	}
	for ns, pid := range map[uint64]int{100: 7, 200: 8} {
		k.saw(ns, pid, "mount", "pivot_root")
		k.sawFiltered(ns, pid, "read", "execve")
	}
	c.harvest()
	list, _ := c.nodeState()
	if got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.Syscalls, []string{"execve", "read"}) {
		t.Errorf("confined container recorded %+v, want only what it did under the filter", got)
	}
	if got := find(list, "ns/r", "web-2", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.Syscalls, []string{"execve", "mount", "pivot_root", "read"}) {
		t.Errorf("unconfined container recorded %+v, want everything", got)
	}
	// The confined pod is deleted; its container's last harvest (its
	// processes' shutdown) is still counted as a confined container's.
	c.setPods([]*corev1.Pod{unconfinedPod})
	k.sawFiltered(100, 7, "wait4")
	c.harvest()
	list, _ = c.nodeState()
	if got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.Syscalls, []string{"execve", "read", "wait4"}) {
		t.Errorf("deleted confined pod's last harvest %+v, want only what it did under the filter", got)
	}
}

// An unconfined container's recording has everything, with what only the
// runtime's init made (before exec) marked runtime-only; a name the
// workload makes too, in this harvest or a later one, or after an agent
// restart, is not. A confined container has no runtime-only names (its
// recording is what it did under the filter).
func TestUnconfinedContainerMarksTheRuntimesSetUp(t *testing.T) {
	c, k, p := newTestCore(t)
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")})
	confinedPod := pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": id(1)})
	confinedPod.Spec.SecurityContext = &corev1.PodSecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	unconfinedPod := pod("ns", "web-2", map[string]string{"app": "web"}, map[string]string{"app": id(2)})
	c.setPods([]*corev1.Pod{confinedPod, unconfinedPod})
	p.containers[7], p.containers[8] = id(1), id(2)
	if !c.syncKernel() {
		t.Fatal("not attached")
	}
	k.sawRuntime(100, 7, []string{"mount", "pivot_root"}, "mount", "pivot_root", "execve")
	k.sawFiltered(100, 7, "read", "execve")
	k.sawRuntime(200, 8, []string{"mount", "pivot_root", "keyctl"}, "mount", "pivot_root", "keyctl", "execve", "read")
	c.harvest()
	list, _ := c.nodeState()
	if got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF); got == nil || len(got.RuntimeOnly) != 0 {
		t.Errorf("confined container %+v, want no runtime-only names", got)
	}
	got := find(list, "ns/r", "web-2", "app", v1alpha1.RecordSourceEBPF)
	if got == nil || !slices.Equal(got.Syscalls, []string{"execve", "keyctl", "mount", "pivot_root", "read"}) ||
		!slices.Equal(got.RuntimeOnly, []string{"keyctl", "mount", "pivot_root"}) {
		t.Fatalf("unconfined container %+v, want everything, mount, pivot_root and keyctl runtime-only", got)
	}
	// The workload calls keyctl too: the kernel no longer tells it as
	// the runtime's only.
	k.sawRuntime(200, 8, []string{"mount", "pivot_root"}, "keyctl")
	c.harvest()
	list, _ = c.nodeState()
	if got := find(list, "ns/r", "web-2", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.RuntimeOnly, []string{"mount", "pivot_root"}) {
		t.Fatalf("after the workload's keyctl: %+v, want mount and pivot_root runtime-only", got)
	}
	// A restarted agent keeps the marks; a new namespace of the same
	// container (a restart) whose runtime makes pivot_root again leaves
	// it runtime-only; its workload's mount clears mount.
	c2, k2, p2 := newTestCore(t)
	c2.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", v1alpha1.RecordingModeRecording, v1alpha1.RecorderEBPF, "web")})
	c2.restore(&v1alpha1.NodeState{Recordings: list})
	c2.setPods([]*corev1.Pod{unconfinedPod})
	p2.containers[9] = id(2)
	c2.syncKernel()
	k2.sawRuntime(300, 9, []string{"pivot_root"}, "pivot_root", "mount")
	c2.harvest()
	list, _ = c2.nodeState()
	if got := find(list, "ns/r", "web-2", "app", v1alpha1.RecordSourceEBPF); got == nil || !slices.Equal(got.RuntimeOnly, []string{"pivot_root"}) ||
		!slices.Equal(got.Syscalls, []string{"execve", "keyctl", "mount", "pivot_root", "read"}) {
		t.Errorf("restored and continued: %+v, want pivot_root runtime-only", got)
	}
}
