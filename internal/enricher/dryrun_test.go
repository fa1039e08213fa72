package enricher

import (
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// What a container under the dry-run profile logs reaches its node state
// entry, per ABI, sorted: only log verdicts, only of dry-run containers;
// a number without a name as "#<nr>"; across an agent restart what was
// reported is kept and the watch starts again (since); a container gone
// is forgotten.
func TestDryRunCollects(t *testing.T) {
	resetMetrics()
	pod := testPod("web", "u1")
	pod.Spec.Containers[0].SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(nodepath.DryRunPath)}
	x := newPodIndex()
	x.set(pod)
	now := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	d := newDryRuns()
	d.now = func() time.Time { return now }
	a := newAttributor(ParseAudit, fakeProcs{10: idApp, 11: idSide}, x, d.observe)
	a.handle(payload(10, archX86_64, 272, codeLog))   // unshare
	a.handle(payload(10, archX86_64, 250, codeLog))   // keyctl
	a.handle(payload(10, archX86_64, 272, codeLog))   // unshare again
	a.handle(payload(10, archI386, 310, codeLog))     // i386 unshare
	a.handle(payload(10, archX86_64, 9999, codeLog))  // no name
	a.handle(payload(10, archX86_64, 165, codeErrno)) // a denial, not the dry run's
	a.handle(payload(11, archX86_64, 165, codeLog))   // the other container: no dry run
	states := []v1alpha1.ContainerSeccompState{
		{Namespace: "ns", Pod: "web", Container: "app", ContainerID: "containerd://" + idApp, Declared: "Localhost/" + nodepath.DryRunPath},
		{Namespace: "ns", Pod: "web", Container: "side", ContainerID: "containerd://" + idSide, Declared: "NodeDefault"},
	}
	d.fill(states, nil)
	if states[1].DryRun != nil {
		t.Errorf("side has a dry run: %+v", states[1].DryRun)
	}
	dr := states[0].DryRun
	if dr == nil || !dr.Since.Time.Equal(now) {
		t.Fatalf("dry run %+v", dr)
	}
	want := []v1alpha1.DryRunSyscalls{{ABI: "x86", Syscalls: []string{"unshare"}}, {ABI: "x86_64", Syscalls: []string{"#9999", "keyctl", "unshare"}}}
	if !slices.EqualFunc(dr.Logged, want, func(a, b v1alpha1.DryRunSyscalls) bool { return a.ABI == b.ABI && slices.Equal(a.Syscalls, b.Syscalls) }) {
		t.Errorf("logged %+v, want %+v", dr.Logged, want)
	}

	// An agent restart: a new collector, the node state's report merged.
	later := now.Add(time.Hour)
	d2 := newDryRuns()
	d2.now = func() time.Time { return later }
	a2 := newAttributor(ParseAudit, fakeProcs{10: idApp}, x, d2.observe)
	a2.handle(payload(10, archX86_64, 165, codeLog)) // mount
	stored := slices.Clone(states)
	states2 := []v1alpha1.ContainerSeccompState{{Namespace: "ns", Pod: "web", Container: "app", ContainerID: "containerd://" + idApp, Declared: "Localhost/" + nodepath.DryRunPath}}
	d2.fill(states2, stored)
	dr = states2[0].DryRun
	if dr == nil || !dr.Since.Time.Equal(later) || len(dr.Logged) != 2 || !slices.Equal(dr.Logged[1].Syscalls, []string{"#9999", "keyctl", "mount", "unshare"}) {
		t.Errorf("after a restart: %+v", dr)
	}

	// Gone for longer than dryRunForget: forgotten.
	later = later.Add(2 * dryRunForget)
	d2.fill(nil, nil)
	if len(d2.byID) != 0 {
		t.Errorf("a gone container kept: %v", d2.byID)
	}
}

// The bounds: MaxDryRunSyscalls names per ABI, maxDryRunABIs ABIs, the
// rest counted.
func TestDryRunBounds(t *testing.T) {
	e := &dryRunEntry{logged: map[string]map[string]bool{}}
	for i := range v1alpha1.MaxDryRunSyscalls + 5 {
		e.add("x86_64", "#"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	for i := range maxDryRunABIs + 2 {
		e.add("abi"+string(rune('a'+i)), "read")
	}
	r := e.report()
	if len(r.Logged) != maxDryRunABIs || len(r.Logged[len(r.Logged)-1].Syscalls) != v1alpha1.MaxDryRunSyscalls || r.Dropped != 5+3 {
		t.Errorf("%d ABIs, %d names in x86_64, dropped %d", len(r.Logged), len(r.Logged[len(r.Logged)-1].Syscalls), r.Dropped)
	}
}
