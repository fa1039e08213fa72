//go:build integration

package integration

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/recorder"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// The recorder opens the in-kernel recorder (which parses the kernel's
// BTF on a real node) only when a recording needs it, and then at once,
// not on a harvest tick; until then the node state says what the probe
// found. An earlier agent's pinned state is taken over at start.
func TestRecorderOpensTheKernelOnlyWhenARecordingNeedsIt(t *testing.T) {
	ctx := context.Background()
	a := startAgent(t, cfg, "recorder-lazy", "x86_64")
	run := func(leftover bool, probeErr error) *atomic.Int32 {
		var opens atomic.Int32
		k := &recKernel{set: &recording.Set{}}
		r := recorder.New(a.kube, func(recorder.Options) (recorder.Kernel, error) { opens.Add(1); return k, nil },
			recorder.Options{}, recProcs{"none"}, ctrl.Log.WithName("recorder"))
		r.Probe = func(recorder.Options) (bool, error) { return leftover, probeErr }
		// No harvest tick during the test: only a recording's event may
		// open the kernel.
		r.HarvestInterval, r.MinStateInterval = time.Hour, 200*time.Millisecond
		runRecorder(ctx, t, r)
		return &opens
	}

	opens := run(false, errors.New("probe: no BTF here"))
	eventually(t, "the probe's finding in the node state", func() bool {
		st := readNodeState(t, a.node)
		return st != nil && st.Status.Recorder != nil && strings.Contains(st.Status.Recorder.Message, "probe: no BTF here")
	})
	time.Sleep(time.Second)
	if n := opens.Load(); n != 0 {
		t.Fatalf("kernel opened %d times with no recording", n)
	}
	logRec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: "lazy-log", Namespace: "default"},
		Spec: v1alpha1.ProfileRecordingSpec{Recorder: v1alpha1.RecorderLog, PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "lazy"}}}}
	ebpfRec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: "lazy-ebpf", Namespace: "default"},
		Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "lazy"}}}}
	if err := k8s.Create(ctx, logRec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), logRec) })
	time.Sleep(time.Second)
	if n := opens.Load(); n != 0 {
		t.Fatalf("kernel opened %d times for a log recording", n)
	}
	if err := k8s.Create(ctx, ebpfRec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), ebpfRec) })
	var st *v1alpha1.SeccompNodeStatus
	if !wantEBPFWithin(t, func() bool {
		st = readNodeState(t, a.node)
		return opens.Load() == 1 && st.Status.Recorder != nil && st.Status.Recorder.Attached && st.Status.Recorder.Message == ""
	}) {
		t.Fatalf("the kernel not opened and attached for the eBPF recording: %d opens, %+v", opens.Load(), st.Status.Recorder)
	}
	if err := k8s.Delete(ctx, ebpfRec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "detached once the recording is gone", func() bool {
		st := readNodeState(t, a.node)
		return st.Status.Recorder != nil && !st.Status.Recorder.Attached
	})

	// An earlier agent's pins: opened at start without a recording (to
	// harvest them and leave the kernel clean).
	leftover := run(true, nil)
	eventually(t, "the kernel opened at start to take over pinned state", func() bool { return leftover.Load() == 1 })
}
