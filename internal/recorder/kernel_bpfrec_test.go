package recorder

// The recorder against the real kernel: bpfrec's program, /proc, a
// process in a new mount namespace and a container's cgroup. It skips
// without root or eBPF.

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording/bpfrec"
)

// realKernel is cmd/agent's adapter, repeated for the test (main's is not
// importable).
type realKernel struct{ *bpfrec.Recorder }

func (k realKernel) Entries() ([]Entry, error) {
	es, err := k.Recorder.Entries()
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(es))
	for i, e := range es {
		out[i] = Entry{MountNS: e.MountNS, ID: e.ID, Pid: e.Pid, Syscalls: e.Syscalls}
	}
	return out, nil
}

func (realKernel) PidInMountNS(ns uint64) (int, bool) { return bpfrec.PidInMountNS(ns) }

// A process started after the attach in a new mount namespace, in a cgroup
// named like a container's, is attributed to its pod (through a live
// process when the kernel's pid is a child that exited), recorded from its
// start, and its entry is deleted once its pod is gone.
func TestRealKernelRecording(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	host, _ := bpfrec.MountNamespace(1)
	r, err := bpfrec.Open(bpfrec.Options{MaxNamespaces: 256, ExcludeMountNS: host})
	if err != nil {
		t.Skipf("no eBPF recorder here: %v", err)
	}
	defer r.Close()
	cid := "feedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedfacefeedface"
	// Not under kubepods: a kubelet on this machine kills the processes
	// of pod cgroups it does not know.
	dir := "/sys/fs/cgroup/pids/seccomp-operator-test/" + cid
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Skipf("no cgroup v1 pids hierarchy: %v", err)
	}
	defer os.Remove("/sys/fs/cgroup/pids/seccomp-operator-test")
	defer os.Remove(dir)
	c := newCore(realKernel{r}, nil, NewProc("/proc", nil), testr.New(t))
	c.setRecordings([]*v1alpha1.ProfileRecording{rec("ns", "r", "", "", "web")})
	c.setPods([]*corev1.Pod{pod("ns", "web-1", map[string]string{"app": "web"}, map[string]string{"app": cid})})
	if !c.syncKernel() {
		t.Fatalf("not attached: %v", c.kernelErr)
	}
	time.Sleep(20 * time.Millisecond) // a tick of /proc's start times after the attach
	cmd := exec.Command("unshare", "-m", "sh", "-c", "echo $$ > "+dir+"/cgroup.procs; sleep 0.3; mkdir /tmp/rec.$$; rmdir /tmp/rec.$$; sleep 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = exec.Command("sh", "-c", "kill $(cat "+dir+"/cgroup.procs) 2>/dev/null").Run() }()
	time.Sleep(1500 * time.Millisecond)
	c.harvest()
	list, _ := c.nodeState()
	got := find(list, "ns/r", "web-1", "app", v1alpha1.RecordSourceEBPF)
	if got == nil {
		t.Fatalf("nothing recorded: %+v", list)
	}
	t.Logf("recorded %d syscalls: %v", len(got.Syscalls), got.Syscalls)
	for _, want := range []string{"execve", "mount", "mkdir", "rmdir", "wait4"} {
		if !slices.Contains(got.Syscalls, want) {
			t.Errorf("missing %s", want)
		}
	}
	if !got.FromStart || !slices.Equal(got.Architectures, []string{"x86_64"}) {
		t.Errorf("fromStart %v architectures %v", got.FromStart, got.Architectures)
	}
	var ours uint64
	for _, a := range c.byKey {
		if a.id == cid {
			ours = a.mntns
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	_ = exec.Command("sh", "-c", "kill $(cat "+dir+"/cgroup.procs) 2>/dev/null").Run()
	c.setPods(nil)
	c.harvest()
	es, err := r.Entries()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.MountNS == ours {
			t.Errorf("the gone container's entry %d is still in the map", ours)
		}
	}
}
