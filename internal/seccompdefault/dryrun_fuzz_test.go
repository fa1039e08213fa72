package seccompdefault

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A node state's dry run is read back from the cluster: any ABI, names,
// since and records state give a verdict, never a panic; what a dry run
// alone says is breaks, safe or unknown, and breaks names a refusal.
func FuzzDryRunEvidence(f *testing.F) {
	f.Add("x86_64", "keyctl,unshare", int64(48*3600), true, int64(0))
	f.Add("x86", "socketcall,#9999", int64(60), true, int64(30))
	f.Add("aarch64", "clone3", int64(-5), false, int64(0))
	f.Add("no-such-abi", ",,", int64(1<<62), true, int64(-1<<62))
	f.Fuzz(func(t *testing.T, abi, names string, soakSeconds int64, reading bool, lossAgo int64) {
		now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
		st := dryRunState(now.Add(-time.Duration(soakSeconds) * time.Second))
		st.DryRun.Logged = []v1alpha1.DryRunSyscalls{{ABI: abi, Syscalls: splitComma(names)}}
		rec := &v1alpha1.NodeRecords{Reading: reading}
		if lossAgo != 0 {
			rec.LastLossTime = &metav1.Time{Time: now.Add(-time.Duration(lossAgo) * time.Second)}
		}
		p := pod("fz", nil)
		target := NodeTarget("n1", node("containerd://1.6.20"), "")
		rc := Running{Node: "n1", Namespace: "ns", Pod: p.Name, Container: "app", Declared: DeclaredDryRun}
		row := NewEvaluator(nil).Judge(rc, p, &target, []Evidence{DryRunEvidence(st, rec, now)})
		switch {
		case row.Verdict != Breaks && row.Verdict != Safe && row.Verdict != Unknown:
			t.Fatalf("a dry run alone gave %s: %+v", row.Verdict, row)
		case row.Verdict == Breaks && len(row.Refused) == 0:
			t.Fatalf("breaks without a refusal: %+v", row)
		case row.Fix == nil:
			t.Fatalf("no fix: %+v", row)
		}
	})
}
