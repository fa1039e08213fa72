package enricher

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// BenchmarkHandle is the cost of one record on the agent: parse the
// netlink payload (auditrecord), find its process's container (procfs's
// cache, warm, over a proc tree of 16 container processes on cgroup v1
// with containerd's cgroupfs paths), its pod (the index) and count it
// (the cached counter), Events aggregation included. Realistic payloads:
// two actions, three syscalls, 16 processes of 8 pods.
func BenchmarkHandle(b *testing.B) {
	root := b.TempDir()
	x := newPodIndex()
	var payloads [][]byte
	for i := range 16 {
		pid := 20000 + i
		id := fmt.Sprintf("%064x", i+1)
		podUID := fmt.Sprintf("1b3f6a2e-0000-4000-8000-%012d", i/2)
		dir := filepath.Join(root, fmt.Sprint(pid))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		stat := fmt.Sprintf("%d (app) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %d 3133440 417\n", pid, 5000+i)
		cgroup := fmt.Sprintf("12:pids:/kubepods/besteffort/pod%s/%s\n11:memory:/kubepods/besteffort/pod%s/%s\n1:name=systemd:/kubepods/besteffort/pod%s/%s\n", podUID, id, podUID, id, podUID, id)
		if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup), 0o644); err != nil {
			b.Fatal(err)
		}
		pod := testPod(fmt.Sprint("web-", i/2), types.UID(podUID))
		pod.ObjectMeta = metav1.ObjectMeta{Namespace: "team-a", Name: pod.Name, UID: pod.UID}
		pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", ContainerID: "containerd://" + id}}
		if i%2 == 1 {
			pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "side", ContainerID: "containerd://" + id}}
			prev := x.get(fmt.Sprintf("%064x", i))
			pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{Name: "app", ContainerID: prev.ID})
		}
		x.set(pod)
		for j, nr := range []int{83, 84, 165} {
			payloads = append(payloads, payload(pid, archX86_64, nr, []string{codeErrno, codeLog}[(i+j)%2]))
		}
	}
	ev := NewEvents(&fakeEvents{}, "node-1", logrDiscard)
	a := newAttributor(ParseAudit, NewProc(root), x, ev.observe)
	for _, p := range payloads {
		a.handle(p) // warm: every pid cached, every counter made
	}
	before := count(records, ResultAttributed)
	var bytes int
	for _, p := range payloads {
		bytes += len(p)
	}
	b.SetBytes(int64(bytes / len(payloads)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		a.handle(payloads[i%len(payloads)])
		i++
	}
	b.ReportMetric(float64(i)/b.Elapsed().Seconds(), "records/s")
	if got := count(records, ResultAttributed) - before; got != float64(i) {
		b.Fatalf("%v of %d records attributed", got, i)
	}
}
