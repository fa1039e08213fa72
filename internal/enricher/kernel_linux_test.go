package enricher

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

// allInApp says every process is container app's: the test tells its own
// child's records apart by pid.
type allInApp struct{}

func (allInApp) ContainerID(int) (string, bool) { return idApp, true }

// TestAuditNetlinkI386 runs the enricher's record path on this kernel: the
// audit multicast source (root: CAP_AUDIT_READ), the parser and the
// attribution, for a real 32-bit process whose filter logs getpid. Every
// record arrives, named with the i386 table (getpid is 20 there, writev on
// x86_64), and is counted under the container's series.
func TestAuditNetlinkI386(t *testing.T) {
	if runtime.GOARCH != "amd64" || os.Geteuid() != 0 {
		t.Skip("x86_64, as root")
	}
	bin := filepath.Join(t.TempDir(), "i386")
	build := exec.Command("go", "build", "-o", bin, "../auditsource/testdata/i386")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	resetMetrics()
	src := &AuditNetlink{}
	if err := src.Open(); err != nil {
		t.Fatal(err)
	}
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	var mu sync.Mutex
	byPID := map[int][]Record{}
	a := newAttributor(ParseAudit, allInApp{}, x, func(_ *container, r Record) {
		mu.Lock()
		byPID[r.PID] = append(byPID[r.PID], r)
		mu.Unlock()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- src.Run(ctx, a.handle) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	const n = 200
	cmd := exec.Command(bin, "200")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("no 32-bit support here: %v %s", err, out)
	}
	pid := cmd.Process.Pid
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		got := byPID[pid]
		mu.Unlock()
		if len(got) == n {
			for _, r := range got {
				if r.Arch != "x86" || r.Syscall != "getpid" || r.Nr != 20 || r.Action != "log" {
					t.Fatalf("record %+v, want x86 getpid 20 log", r)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d records of pid %d, want %d", len(got), pid, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if v := count(violations, "ns", "web", "app", "deny-mkdir", "getpid", "log"); v < n {
		t.Errorf("seccomp_violations_total getpid log: %v, want >= %d", v, n)
	}
	if st := src.Stats(); st.Overruns != 0 {
		t.Errorf("overruns %d", st.Overruns)
	}
}
