package enricher

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func newTestAttributor(obs func(*container, Record)) *attributor {
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	return newAttributor(ParseAudit, fakeProcs{10: idApp, 11: idSide, 12: "", 13: "4444444444444444444444444444444444444444444444444444444444444444"}, x, obs)
}

// A record of a container's process is counted under its pod, container,
// the SeccompProfile its Localhost path belongs to, the syscall named in
// the record's architecture and the action; every other record is counted
// by what went wrong.
func TestAttributionLabelsAndReasons(t *testing.T) {
	resetMetrics()
	var seen []Record
	a := newTestAttributor(func(_ *container, r Record) { seen = append(seen, r) })
	for range 3 {
		a.handle(payload(10, archX86_64, 83, codeErrno)) // mkdir, denied
	}
	a.handle(payload(10, archI386, 39, codeErrno))                                       // i386 39 is mkdir (x86_64's 39 is getpid)
	a.handle(payload(11, archX86_64, 83, codeLog))                                       // a container with no profile: NodeDefault
	a.handle(payload(12, archX86_64, 83, codeErrno))                                     // the host
	a.handle(payload(99, archX86_64, 83, codeErrno))                                     // gone
	a.handle(payload(13, archX86_64, 83, codeErrno))                                     // a container of no pod
	a.handle([]byte(`audit(1796570658.057:14): pid=10 arch=c000003e syscall=`))          // truncated
	a.handle([]byte(`audit(1796570658.057:14): pid=10 arch=zz syscall=83 code=0x50000`)) // malformed
	a.handle(nil)
	expireAll(a)

	if got := count(violations, "ns", "web", "app", "deny-mkdir", "mkdir", "errno"); got != 4 {
		t.Errorf("app mkdir errno: %v, want 4 (3 x86_64 + 1 i386)", got)
	}
	if got := count(violations, "ns", "web", "side", "NodeDefault", "mkdir", "log"); got != 1 {
		t.Errorf("side mkdir log: %v, want 1", got)
	}
	if n := testutil.CollectAndCount(violations); n != 2 {
		t.Errorf("%d violation series, want 2", n)
	}
	for result, want := range map[string]float64{ResultRead: 11, ResultAttributed: 5, ResultUnattributed: 3, ResultMalformed: 3} {
		if got := count(records, result); got != want {
			t.Errorf("records %s: %v, want %v", result, got, want)
		}
	}
	for reason, want := range map[string]float64{ReasonNotContainer: 1, ReasonNoProcess: 1, ReasonNoPod: 1} {
		if got := count(unattributed, reason); got != want {
			t.Errorf("unattributed %s: %v, want %v", reason, got, want)
		}
	}
	if len(seen) != 5 || seen[3].Arch != "x86" || seen[3].Syscall != "mkdir" || seen[3].Nr != 39 {
		t.Errorf("observed %+v", seen)
	}
}

// A deleted pod's series go, so the metric holds only what runs on the
// node.
func TestDeletedPodSeriesAreDropped(t *testing.T) {
	resetMetrics()
	a := newTestAttributor(nil)
	a.handle(payload(10, archX86_64, 83, codeErrno))
	a.index.remove("u1")
	a.forgetPod("ns", "web")
	if n := testutil.CollectAndCount(violations); n != 0 {
		t.Fatalf("%d series left after the pod was deleted", n)
	}
	a.handle(payload(10, archX86_64, 83, codeErrno))
	expireAll(a)
	if got := count(unattributed, ReasonNoPod); got != 1 {
		t.Errorf("a record of the deleted pod's container: no_pod %v, want 1", got)
	}
}

// expireAll lets every waiting record's time run out.
func expireAll(a *attributor) {
	a.pend.mu.Lock()
	a.expireLocked(time.Now().Add(pendingTTL))
	a.pend.mu.Unlock()
}

// A container's records that come before its pod's status names it wait
// for the pod watch, and are counted under the container once it does.
func TestRecordsWaitForTheirContainersPod(t *testing.T) {
	resetMetrics()
	x := newPodIndex()
	a := newAttributor(ParseAudit, fakeProcs{10: idApp}, x, nil)
	for range 3 {
		a.handle(payload(10, archX86_64, 83, codeErrno))
	}
	if a.waiting() != 3 || count(records, ResultUnattributed) != 0 {
		t.Fatalf("%d waiting, %v unattributed; want 3 waiting", a.waiting(), count(records, ResultUnattributed))
	}
	pod := testPod("web", "u1")
	x.set(pod)
	a.retry()
	if got := count(violations, "ns", "web", "app", "deny-mkdir", "mkdir", "errno"); got != 3 || a.waiting() != 0 {
		t.Errorf("after the pod named the container: %v counted, %d waiting; want 3 and 0", got, a.waiting())
	}
	// Past the wait, a record of a container no pod names is counted.
	a.handle(payload(10, archX86_64, 83, codeErrno))
	x.remove("u1")
	a.handle(payload(10, archX86_64, 84, codeErrno))
	a.retry()
	if a.waiting() != 1 {
		t.Fatalf("%d waiting, want 1", a.waiting())
	}
	expireAll(a)
	if got := count(unattributed, ReasonNoPod); got != 1 || a.waiting() != 0 {
		t.Errorf("no_pod %v, %d waiting; want 1 and 0", got, a.waiting())
	}
}

// An ERRNO record of clone3 is a probe, not a violation, when the
// container's installed profile answers clone3 ENOSYS (a learned profile):
// the audit record carries no errno, so the profile file decides. Under a
// profile that answers it EPERM, or with no file, it is a violation; a
// replaced file is read again.
func TestENOSYSProbeIsNotAViolation(t *testing.T) {
	root := t.TempDir()
	write := func(profile string) {
		t.Helper()
		dir := filepath.Join(root, "seccomp", "operator")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(dir, ".tmp")
		if err := os.WriteFile(tmp, []byte(profile), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "deny-mkdir.json")); err != nil {
			t.Fatal(err)
		}
	}
	const clone3 = 435
	violated := func() float64 {
		return count(violations, "ns", "web", "app", "deny-mkdir", "clone3", "errno")
	}
	resetMetrics()
	a := newTestAttributor(nil)
	a.probes = &Probes{KubeletRoot: root}

	a.handle(payload(10, archX86_64, clone3, codeErrno)) // no file yet
	if got := violated(); got != 1 {
		t.Fatalf("no profile file: %v violations, want 1", got)
	}
	write(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["clone3"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}`)
	a.handle(payload(10, archX86_64, clone3, codeErrno))
	a.handle(payload(11, archX86_64, clone3, codeErrno)) // the side container has no operator profile
	if got := testutil.ToFloat64(records.WithLabelValues(ResultProbe)); got != 1 {
		t.Errorf("probe records %v, want 1", got)
	}
	if got := violated(); got != 1 {
		t.Errorf("clone3 answered ENOSYS counted as a violation: %v violations, want 1", got)
	}
	write(`{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ALLOW"}]}`)
	a.handle(payload(10, archX86_64, clone3, codeErrno)) // EPERM now
	if got := violated(); got != 2 {
		t.Errorf("clone3 answered EPERM: %v violations, want 2", got)
	}
}
