package recorder

import (
	"errors"
	"testing"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// fakeKernel is the in-kernel recorder: entries the test sets.
type fakeKernel struct {
	attached         bool
	attaches, detach int
	entries          map[uint64]Entry
	deleted          []uint64
	lost             uint64
	// onDetach runs when the program is detached (before it is).
	onDetach func()
	// live maps a namespace to a live process of it (PidInMountNS).
	live  map[uint64]int
	finds int
}

func (k *fakeKernel) PidInMountNS(ns uint64) (int, bool) {
	k.finds++
	pid, ok := k.live[ns]
	return pid, ok
}

func newFakeKernel() *fakeKernel {
	return &fakeKernel{entries: map[uint64]Entry{}, live: map[uint64]int{}}
}

func (k *fakeKernel) Attach() error { k.attached = true; k.attaches++; return nil }
func (k *fakeKernel) Detach() error {
	if k.onDetach != nil {
		k.onDetach()
	}
	k.attached = false
	k.detach++
	return nil
}
func (k *fakeKernel) Attached() bool { return k.attached }
func (k *fakeKernel) Close() error   { return nil }
func (k *fakeKernel) Unpin() error   { return nil }
func (k *fakeKernel) Entries() ([]Entry, error) {
	out := make([]Entry, 0, len(k.entries))
	for _, e := range k.entries {
		out = append(out, e)
	}
	return out, nil
}

// Delete removes every entry of the inode, as bpfrec does.
func (k *fakeKernel) Delete(ns uint64) error {
	found := false
	for key, e := range k.entries {
		if e.MountNS == ns {
			delete(k.entries, key)
			found = true
		}
	}
	if !found {
		return errors.New("no such entry")
	}
	k.deleted = append(k.deleted, ns)
	return nil
}
func (k *fakeKernel) Lost() (uint64, error) { return k.lost, nil }
func (k *fakeKernel) MapBytes() int         { return 4096 }

// saw makes the kernel see syscalls (x86_64 names) in ns by pid.
func (k *fakeKernel) saw(ns uint64, pid int, names ...string) { k.sawID(0, ns, pid, names...) }

// sawID is saw for the namespace of id (the inode ns may be shared).
func (k *fakeKernel) sawID(id, ns uint64, pid int, names ...string) {
	key := ns
	if id != 0 {
		key = id
	}
	e, ok := k.entries[key]
	if !ok {
		e = Entry{MountNS: ns, ID: id, Syscalls: &recording.Set{}}
	}
	e.Pid = pid
	for _, n := range names {
		e.Syscalls.Add("x86_64", n)
	}
	k.entries[key] = e
}

// fakeProcs is /proc: pids in containers, container start times.
type fakeProcs struct {
	containers map[int]string // pid → bare ID ("" host)
	started    map[string]uint64
	now        uint64
}

func newFakeProcs() *fakeProcs {
	return &fakeProcs{containers: map[int]string{}, started: map[string]uint64{}, now: 1000}
}

func (p *fakeProcs) ContainerID(pid int) (string, bool) {
	id, ok := p.containers[pid]
	return id, ok
}
func (p *fakeProcs) Now() (uint64, error) { return p.now, nil }
func (p *fakeProcs) Started() (map[string]uint64, error) {
	out := map[string]uint64{}
	for k, v := range p.started {
		out[k] = v
	}
	return out, nil
}

func id(n byte) string {
	b := make([]byte, 64)
	for i := range b {
		b[i] = "0123456789abcdef"[n%16]
	}
	return string(b)
}

func pod(ns, name string, labels map[string]string, containers map[string]string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name), Labels: labels}}
	for c, cid := range containers {
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c, ContainerID: "containerd://" + cid})
	}
	return p
}

func rec(ns, name string, mode v1alpha1.RecordingMode, kind v1alpha1.RecorderKind, app string) *v1alpha1.ProfileRecording {
	return &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name)},
		Spec: v1alpha1.ProfileRecordingSpec{Mode: mode, Recorder: kind, PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}}}
}

func newTestCore(t *testing.T) (*core, *fakeKernel, *fakeProcs) {
	t.Helper()
	k, p := newFakeKernel(), newFakeProcs()
	return newCore(k, nil, p, logr.Discard()), k, p
}

// find returns the node recording of (pod, container, source), nil if none.
func find(list []v1alpha1.NodeRecording, recording, pod, container string, src v1alpha1.RecordSource) *v1alpha1.NodeRecording {
	for i := range list {
		r := &list[i]
		if r.Recording == recording && r.Pod == pod && r.Container == container && r.Source == src {
			return r
		}
	}
	return nil
}

// sawFiltered is saw for syscalls made under a seccomp filter.
func (k *fakeKernel) sawFiltered(ns uint64, pid int, names ...string) {
	k.saw(ns, pid, names...)
	e := k.entries[ns]
	if e.Filtered == nil {
		e.Filtered = &recording.Set{}
	}
	for _, n := range names {
		e.Filtered.Add("x86_64", n)
	}
	k.entries[ns] = e
}

// sawRuntime is saw for syscalls of the runtime's init; runtimeOnly sets
// what the kernel then tells as made by it only (Entry.Runtime).
func (k *fakeKernel) sawRuntime(ns uint64, pid int, runtimeOnly []string, names ...string) {
	k.saw(ns, pid, names...)
	e := k.entries[ns]
	e.Runtime = &recording.Set{}
	for _, n := range runtimeOnly {
		e.Runtime.Add("x86_64", n)
	}
	k.entries[ns] = e
}
