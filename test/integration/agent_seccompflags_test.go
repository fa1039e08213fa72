//go:build integration

package integration

import (
	"context"
	"os"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/agent"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

// A profile with seccomp flags: admitted with a warning; installed on the
// node whose runtime takes flags; on the node configured as
// "--runtime-seccomp-flags=unsupported" not installed, with the reason in
// its node state, and the profile's status lists that node with the reason
// and never reports the profile installed everywhere.
func TestAgentReportsSeccompFlagsItsRuntimeRefuses(t *testing.T) {
	ctx := context.Background()
	setFlags := func(s runtimeflags.Support) func(*agent.NodeReconciler) {
		return func(r *agent.NodeReconciler) { r.SeccompFlags = runtimeflags.Fixed(s) }
	}
	newer := startAgentWith(t, cfg, "agent-runc-1-2", "x86_64", t.TempDir(), setFlags(runtimeflags.Supported))
	older := startAgentWith(t, cfg, "agent-runc-1-1", "x86_64", t.TempDir(), setFlags(runtimeflags.Unsupported))

	wc, w := warningClient(t)
	sp := newProfile("agt-flags", "", allow("read", "write"))
	sp.Spec.Flags = []v1alpha1.Flag{"SECCOMP_FILTER_FLAG_LOG"}
	if err := wc.Create(ctx, sp); err != nil {
		t.Fatalf("a profile with flags was refused: %v", err)
	}
	t.Cleanup(func() { _ = k8s.Delete(context.Background(), sp) })
	if msgs := strings.Join(w.take(), "\n"); !strings.Contains(msgs, "spec.flags [SECCOMP_FILTER_FLAG_LOG]") || !strings.Contains(msgs, "runc 1.2.0") {
		t.Errorf("warnings %q, want the flags warning", msgs)
	}

	waitInstalled(t, "agt-flags", newer)
	eventually(t, "the older runtime's node reports the flags", func() bool {
		st, ok := nodeEntry(older.node, "agt-flags")
		return ok && st.State == v1alpha1.InstallStateFailed && st.Reason == v1alpha1.NodeReasonSeccompFlags &&
			strings.Contains(st.Message, "refuses seccomp flags") && strings.Contains(st.Message, "--runtime-seccomp-flags=unsupported")
	})
	if _, err := os.Stat(older.path(profilePath("agt-flags"))); !os.IsNotExist(err) {
		t.Fatalf("installed on the node whose runtime refuses flags: %v", err)
	}
	eventually(t, "the profile's status names the node and the reason", func() bool {
		var got v1alpha1.SeccompProfile
		if k8s.Get(ctx, types.NamespacedName{Name: "agt-flags"}, &got) != nil {
			return false
		}
		installed := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInstalled)
		for _, f := range got.Status.FailedNodes {
			if f.Node == older.node && f.Reason == v1alpha1.NodeReasonSeccompFlags && installed != nil &&
				installed.Status == "False" && strings.Contains(installed.Message, v1alpha1.NodeReasonSeccompFlags+": 1") {
				return true
			}
		}
		return false
	})

	// Without the flags the profile goes everywhere: with the operator's
	// SECCOMP_FILTER_FLAG_LOG where the runtime takes it, without it on the
	// older node, whose file is current too (the manager counts both
	// renderings) and whose state says its denials leave no audit record.
	updateProfile(t, "agt-flags", func(sp *v1alpha1.SeccompProfile) { sp.Spec.Flags = nil })
	prep := waitInstalled(t, "agt-flags", newer, older)
	if !strings.Contains(string(newer.read(profilePath("agt-flags"))), "SECCOMP_FILTER_FLAG_LOG") ||
		strings.Contains(string(older.read(profilePath("agt-flags"))), "SECCOMP_FILTER_FLAG_LOG") {
		t.Errorf("the LOG flag: on the newer node %q, on the older %q; want it only on the newer",
			newer.read(profilePath("agt-flags")), older.read(profilePath("agt-flags")))
	}
	if prep.OtherHash == "" {
		t.Error("no second rendering for nodes whose runtime refuses flags")
	}
	eventually(t, "the profile Installed on both nodes", func() bool {
		var got v1alpha1.SeccompProfile
		if k8s.Get(ctx, types.NamespacedName{Name: "agt-flags"}, &got) != nil {
			return false
		}
		c := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionInstalled)
		return got.Status.NodesInstalled == 2 && got.Status.NodesTotal == 2 && c != nil && c.Status == "True"
	})
	for _, c := range []struct {
		a      *testAgent
		flags  string
		logged bool
	}{{newer, "Supported", true}, {older, "Unsupported", false}} {
		var ns v1alpha1.SeccompNodeStatus
		if err := k8s.Get(ctx, types.NamespacedName{Name: c.a.node}, &ns); err != nil {
			t.Fatal(err)
		}
		if rt := ns.Status.Runtime; rt == nil || rt.SeccompFlags != c.flags || rt.DenialsLogged != c.logged || rt.Message == "" {
			t.Errorf("%s: status.runtime %+v, want %s, denialsLogged %v", c.a.node, rt, c.flags, c.logged)
		}
	}
}
