package enricher

import (
	"testing"

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
	if got := count(unattributed, ReasonNoPod); got != 1 {
		t.Errorf("a record of the deleted pod's container: no_pod %v, want 1", got)
	}
}
