//go:build integration

package integration

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
	"github.com/seccomp-operator/seccomp-operator/internal/recorder"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// recKernel is the in-kernel recorder: one mount namespace whose syscalls
// the test adds.
type recKernel struct {
	mu       sync.Mutex
	attached bool
	set      *recording.Set
}

func (k *recKernel) Attach() error { k.mu.Lock(); k.attached = true; k.mu.Unlock(); return nil }
func (k *recKernel) Detach() error { k.mu.Lock(); k.attached = false; k.mu.Unlock(); return nil }
func (k *recKernel) Attached() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.attached
}
func (k *recKernel) Close() error { return nil }
func (k *recKernel) Unpin() error { return nil }
func (k *recKernel) Entries() ([]recorder.Entry, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	s := &recording.Set{}
	s.Merge(k.set)
	return []recorder.Entry{{MountNS: 4026532000, Pid: 4242, Syscalls: s}}, nil
}
func (k *recKernel) Delete(uint64) error   { return nil }
func (k *recKernel) Lost() (uint64, error) { return 0, nil }
func (k *recKernel) MapBytes() int         { return 0 }
func (k *recKernel) saw(names ...string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, n := range names {
		k.set.Add("x86_64", n)
	}
}

// recProcs is /proc: pid 4242 in the test's container, started after any
// attach.
type recProcs struct{ id string }

func (p recProcs) ContainerID(pid int) (string, bool)  { return p.id, pid == 4242 }
func (p recProcs) Now() (uint64, error)                { return 1, nil }
func (p recProcs) Started() (map[string]uint64, error) { return map[string]uint64{p.id: 2}, nil }

// The recorder writes what the kernel recorder saw in a selected pod's
// container to the node state, keeps the installer's profiles, survives an
// agent restart whose kernel map starts empty, and records the log
// recorder's syscalls from the enricher's records.
func TestRecorderNodeStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	a := startAgent(t, cfg, "recorder-node", "x86_64")
	id := "abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
	ebpfRec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: "rec-ebpf", Namespace: "default"},
		Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "recorded"}}}}
	logRec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: "rec-log", Namespace: "default"},
		Spec: v1alpha1.ProfileRecordingSpec{Recorder: v1alpha1.RecorderLog, PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "recorded"}}}}
	for _, r := range []*v1alpha1.ProfileRecording{ebpfRec, logRec} {
		if err := k8s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = k8s.Delete(context.Background(), r) })
	}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "recorded", Namespace: "default", Labels: map[string]string{"app": "recorded"}},
		Spec: corev1.PodSpec{NodeName: a.node, Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app",
			SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/" + recordings.LogProfileName(logRec) + ".json")}}}}},
	}
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), pod, client.GracePeriodSeconds(0)) })
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + id, Image: "registry.invalid/app", ImageID: "x"}}
	if err := k8s.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	create(t, newProfile("rec-kept", "", allow("read")))
	waitInstalled(t, "rec-kept", a)

	start := func(k *recKernel) (*recorder.Recorder, func()) {
		r := recorder.New(a.kube, func(recorder.Options) (recorder.Kernel, error) { return k, nil }, recorder.Options{}, recProcs{id}, ctrl.Log.WithName("recorder"))
		r.HarvestInterval, r.MinStateInterval = 100*time.Millisecond, 200*time.Millisecond
		return r, runRecorder(ctx, t, r)
	}
	wantEBPF := func(names ...string) func() bool {
		return func() bool {
			st := readNodeState(t, a.node)
			if st == nil || st.Status.Recorder == nil || !st.Status.Recorder.Attached {
				return false
			}
			for _, nr := range st.Status.Recordings {
				if nr.Recording == "default/rec-ebpf" && nr.Pod == "recorded" && nr.PodUID == string(pod.UID) && nr.Container == "app" &&
					nr.Source == v1alpha1.RecordSourceEBPF && nr.FromStart && slices.Equal(nr.Syscalls, names) && nr.RecordingUID == string(ebpfRec.UID) {
					return true
				}
			}
			return false
		}
	}

	k1 := &recKernel{set: &recording.Set{}}
	k1.saw("read", "openat")
	_, stop := start(k1)
	if !wantEBPFWithin(t, wantEBPF("openat", "read")) {
		t.Fatalf("the kernel's syscalls not in the node state: %+v %+v", readNodeState(t, a.node).Status.Recordings, readNodeState(t, a.node).Status.Recorder)
	}
	if _, ok := nodeEntry(a.node, "rec-kept"); !ok {
		t.Fatalf("the recorder's write lost the installer's profiles: %+v", readNodeState(t, a.node).Status)
	}
	stop()

	// A new agent whose kernel map starts empty: what was harvested stays,
	// and what it records now is added.
	k2 := &recKernel{set: &recording.Set{}}
	k2.saw("write")
	r2, stop2 := start(k2)
	defer stop2()
	eventually(t, "the restarted recorder's union", wantEBPF("openat", "read", "write"))

	// The log recorder: the enricher's records of the pod under the log
	// profile go to rec-log's node recording.
	src := &fakeSource{payloads: make(chan []byte, 16)}
	proc := &fakeProc{id: id, pid: 4242, mode: v1alpha1.SeccompModeFilter}
	e := &enricher.Enricher{Node: a.kube, Source: src, Parse: enricher.ParseAudit, Procs: proc, Kernel: proc,
		Log: logr.Discard(), ScanInterval: time.Second, MinStateInterval: time.Second, OnViolation: r2.Violation}
	ectx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = e.Run(ectx) }()
	defer func() { cancel(); <-done }()
	for i, nr := range []int{83, 84} { // mkdir, rmdir
		src.payloads <- fmt.Appendf(nil, `audit(1796570658.%03d:%d): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4242 comm="app" exe="/app" sig=0 arch=c000003e syscall=%d compat=0 ip=0x7f8384947be7 code=0x7ffc0000`, i, i, nr)
	}
	eventually(t, "the log recorder's syscalls", func() bool {
		st := readNodeState(t, a.node)
		for _, nr := range st.Status.Recordings {
			if nr.Recording == "default/rec-log" && nr.Source == v1alpha1.RecordSourceLog && nr.Container == "app" && slices.Equal(nr.Syscalls, []string{"mkdir", "rmdir"}) {
				return true
			}
		}
		return false
	})

	// The recording deleted: its node recordings go.
	if err := k8s.Delete(ctx, ebpfRec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the deleted recording's node recordings removed, the program detached", func() bool {
		st := readNodeState(t, a.node)
		for _, nr := range st.Status.Recordings {
			if nr.Recording == "default/rec-ebpf" {
				return false
			}
		}
		return st.Status.Recorder != nil && !st.Status.Recorder.Attached
	})
}

func wantEBPFWithin(t *testing.T, cond func() bool) bool {
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return false
}

// runRecorder runs r until the returned stop is called or the test ends;
// stop waits for Run to return and may be called more than once.
func runRecorder(ctx context.Context, t *testing.T, r *recorder.Recorder) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := r.Run(rctx); err != nil {
			t.Errorf("recorder: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}
