//go:build integration

package integration

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/enricher"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// fakeSource delivers the payloads the test sends, as the netlink source
// would.
type fakeSource struct{ payloads chan []byte }

func (s *fakeSource) Name() string                { return "test" }
func (s *fakeSource) Open() error                 { return nil }
func (s *fakeSource) Stats() enricher.SourceStats { return enricher.SourceStats{} }
func (s *fakeSource) Run(ctx context.Context, handle func([]byte)) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case p := <-s.payloads:
			handle(p)
		}
	}
}

// fakeProc is /proc: one container's process, whose mode the test
// changes.
type fakeProc struct {
	mu   sync.Mutex
	id   string
	pid  int
	mode v1alpha1.SeccompMode
}

func (f *fakeProc) ContainerID(pid int) (string, bool) {
	return f.id, pid == f.pid
}

func (f *fakeProc) Containers() (map[string][]int, error) {
	return map[string][]int{f.id: {f.pid}}, nil
}

func (f *fakeProc) Seccomp(int) (v1alpha1.SeccompMode, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mode, 1, nil
}

func (f *fakeProc) set(m v1alpha1.SeccompMode) {
	f.mu.Lock()
	f.mode = m
	f.mu.Unlock()
}

func readNodeState(t *testing.T, node string) *v1alpha1.SeccompNodeStatus {
	t.Helper()
	var ns v1alpha1.SeccompNodeStatus
	if err := k8s.Get(context.Background(), types.NamespacedName{Name: node}, &ns); err != nil {
		return nil
	}
	return &ns
}

// The installer and the enricher of one agent share its node informers and
// write the same node state: the enricher's containers and records on
// change only, the installer's profiles, neither wiping the other's. The
// records of a pod hammering a denied syscall make one Event with a count.
func TestEnricherNodeStateAndEvents(t *testing.T) {
	ctx := context.Background()
	a := startAgent(t, cfg, "enricher-node", "x86_64")
	id := "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "hammer", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: a.node, Containers: []corev1.Container{{Name: "app", Image: "registry.invalid/app",
			SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{
				Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To("operator/enr-deny.json")}}}}},
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

	proc := &fakeProc{id: id, pid: 4242, mode: v1alpha1.SeccompModeFilter}
	src := &fakeSource{payloads: make(chan []byte, 1024)}
	events := enricher.NewEvents(enricher.KubeEvents{Core: a.kube.Core}, a.node, logr.Discard())
	events.UpdateInterval = time.Second
	e := &enricher.Enricher{Node: a.kube, Source: src, Parse: enricher.ParseAudit, Procs: proc, Kernel: proc, Events: events,
		Log: logr.Discard(), ScanInterval: 300 * time.Millisecond, MinStateInterval: 200 * time.Millisecond}
	ectx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ectx); err != nil {
			t.Errorf("enricher: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })

	wantContainer := func(mode v1alpha1.SeccompMode) func() bool {
		return func() bool {
			st := readNodeState(t, a.node)
			return st != nil && len(st.Status.Containers) == 1 && st.Status.Containers[0] == v1alpha1.ContainerSeccompState{
				Namespace: "default", Pod: "hammer", Container: "app", ContainerID: "containerd://" + id,
				Declared: "Localhost/operator/enr-deny.json", Profile: "enr-deny", Mode: mode, Filters: map[bool]int32{true: 1}[mode == v1alpha1.SeccompModeFilter],
			} && st.Status.Records != nil && st.Status.Records.Reading && st.Status.Records.Source == "test"
		}
	}
	eventually(t, "the container's kernel state in the node state", wantContainer(v1alpha1.SeccompModeFilter))

	// No change, no write: the scans go on (every 300 ms) but the
	// enricher writes nothing.
	writes := kernelStateWrites(t)
	time.Sleep(2 * time.Second)
	if now := kernelStateWrites(t); now != writes {
		t.Errorf("the enricher wrote the node state %v times without a change", now-writes)
	}

	// The installer writes the profiles and keeps the containers ...
	create(t, newProfile("enr-deny", "", allow("read")))
	waitInstalled(t, "enr-deny", a)
	if !wantContainer(v1alpha1.SeccompModeFilter)() {
		t.Fatalf("the installer's write lost the enricher's containers: %+v", readNodeState(t, a.node).Status)
	}
	// ... and the enricher's write keeps the profiles.
	proc.set(v1alpha1.SeccompModeDisabled)
	eventually(t, "the new mode written", wantContainer(v1alpha1.SeccompModeDisabled))
	if _, ok := nodeEntry(a.node, "enr-deny"); !ok {
		t.Fatalf("the enricher's write lost the installer's profiles: %+v", readNodeState(t, a.node).Status)
	}
	create(t, newProfile("enr-other", "", allow("write")))
	waitInstalled(t, "enr-other", a)
	if !wantContainer(v1alpha1.SeccompModeDisabled)() {
		t.Fatalf("the installer's second write lost the containers: %+v", readNodeState(t, a.node).Status)
	}

	// 500 denials of mkdir: one Event on the pod, its count 500.
	for i := range 500 {
		src.payloads <- fmt.Appendf(nil, `audit(1796570658.%03d:%d): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4242 comm="app" exe="/app" sig=0 arch=c000003e syscall=83 compat=0 ip=0x7f8384947be7 code=0x50000`, i%1000, i)
	}
	var list corev1.EventList
	eventually(t, "one Event with count 500", func() bool {
		if err := k8s.List(ctx, &list, client.InNamespace("default"), client.MatchingFields{"involvedObject.name": "hammer"}); err != nil {
			t.Logf("list events: %v", err)
			return false
		}
		return len(list.Items) == 1 && list.Items[0].Count == 500
	})
	ev := list.Items[0]
	if ev.Reason != enricher.ReasonDenied || ev.InvolvedObject.UID != pod.UID || ev.Type != corev1.EventTypeWarning || ev.Source.Host != a.node {
		t.Errorf("event %+v", ev)
	}
	t.Logf("event: %s", ev.Message)
}

// kernelStateWrites reads the enricher's count of node state writes from
// the agent's registry.
func kernelStateWrites(t *testing.T) float64 {
	t.Helper()
	mfs, err := nodekube.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "seccomp_operator_agent_kernel_state_writes_total" {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatal("no seccomp_operator_agent_kernel_state_writes_total")
	return 0
}
