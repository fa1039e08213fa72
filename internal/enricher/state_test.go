package enricher

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

type procState struct {
	mode    v1alpha1.SeccompMode
	filters int
}

// fakeKernel is /proc: running containers and each pid's seccomp state (a
// pid absent from modes cannot be read).
type fakeKernel struct {
	running map[string][]int
	modes   map[int]procState
}

func (k fakeKernel) Containers() (map[string][]int, error) { return k.running, nil }

func (k fakeKernel) Seccomp(pid int) (v1alpha1.SeccompMode, int, error) {
	s, ok := k.modes[pid]
	if !ok {
		return "", 0, errors.New("gone")
	}
	return s.mode, s.filters, nil
}

func TestContainerStates(t *testing.T) {
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	pod := testPod("b-unreadable", "u2")
	pod.Status.ContainerStatuses[0].ContainerID = "containerd://aaaa"
	pod.Status.ContainerStatuses[1].ContainerID = "containerd://bbbb"
	x.set(pod)
	pod = testPod("c-stopped", "u3")
	pod.Status.ContainerStatuses[0].ContainerID = "containerd://cccc"
	pod.Status.ContainerStatuses = pod.Status.ContainerStatuses[:1]
	x.set(pod)
	k := fakeKernel{
		running: map[string][]int{idApp: {1, 2}, idSide: {3}, "aaaa": {4, 5}, "bbbb": {6}},
		modes: map[int]procState{
			1: {v1alpha1.SeccompModeFilter, 2}, 2: {v1alpha1.SeccompModeFilter, 1},
			3: {v1alpha1.SeccompModeDisabled, 0},
			4: {v1alpha1.SeccompModeFilter, 1}, 5: {v1alpha1.SeccompModeDisabled, 0},
		},
	}
	got, err := containerStates(k, x.all())
	if err != nil {
		t.Fatal(err)
	}
	want := []v1alpha1.ContainerSeccompState{
		{Namespace: "ns", Pod: "b-unreadable", Container: "app", ContainerID: "containerd://aaaa", Declared: "Localhost/operator/deny-mkdir.json", Profile: "deny-mkdir", Mode: v1alpha1.SeccompModeUnknown},
		{Namespace: "ns", Pod: "b-unreadable", Container: "side", ContainerID: "containerd://bbbb", Declared: "NodeDefault", Privileged: true, Mode: v1alpha1.SeccompModeUnknown},
		{Namespace: "ns", Pod: "web", Container: "app", ContainerID: "containerd://" + idApp, Declared: "Localhost/operator/deny-mkdir.json", Profile: "deny-mkdir", Mode: v1alpha1.SeccompModeFilter, Filters: 1},
		{Namespace: "ns", Pod: "web", Container: "side", ContainerID: "containerd://" + idSide, Declared: "NodeDefault", Privileged: true, Mode: v1alpha1.SeccompModeDisabled},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d states, want %d (a stopped container is left out): %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%d: %+v\nwant %+v", i, got[i], want[i])
		}
	}
	setContainersGauge(got)
	if v := testutil.ToFloat64(containersGauge.WithLabelValues("ns", "Unknown")); v != 2 {
		t.Errorf("gauge Unknown %v", v)
	}
}

// The node state is written only when the containers or the records
// changed.
func TestStatePatchOnChangeOnly(t *testing.T) {
	cs := []v1alpha1.ContainerSeccompState{{Namespace: "ns", Pod: "p", Container: "c", Declared: "RuntimeDefault", Mode: v1alpha1.SeccompModeFilter, Filters: 1}}
	src := &sourceState{name: "audit-netlink"}
	src.set(true, "")
	now := time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)
	cur := &v1alpha1.SeccompNodeStatus{}
	p, err := statePatch(cur, cs, src.records(SourceStats{}, now))
	if err != nil || !strings.Contains(string(p), `"containers":[{`) || !strings.Contains(string(p), `"records":{"source":"audit-netlink","reading":true}`) {
		t.Fatalf("first patch %s, %v", p, err)
	}
	cur.Status.Containers = cs
	cur.Status.Records = src.records(SourceStats{}, now)
	if p, _ := statePatch(cur, append([]v1alpha1.ContainerSeccompState(nil), cs...), src.records(SourceStats{}, now.Add(time.Minute))); p != nil {
		t.Errorf("unchanged state gave a patch: %s", p)
	}
	// A loss is a change of the records alone.
	p, _ = statePatch(cur, cs, src.records(SourceStats{Overruns: 3}, now.Add(time.Minute)))
	if !strings.Contains(string(p), `"lost":3`) || !strings.Contains(string(p), "rmem_max") || !strings.Contains(string(p), `"lastLossTime":"2026-12-06T17:01:00Z"`) || strings.Contains(string(p), "containers") {
		t.Errorf("loss patch %s", p)
	}
	// No container left: the list is removed.
	p, _ = statePatch(cur, nil, cur.Status.Records)
	if string(p) != `{"status":{"containers":null}}` {
		t.Errorf("empty patch %s", p)
	}
}
