//go:build e2e

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A profile with seccomp flags on the real node: whatever the agent found
// out about the node's runtime must hold. If it reports the profile
// installed, a pod using it runs (the runtime took the flags); if it reports
// SeccompFlagsNotSupported, the file is not on the node and the message
// names the flags. The node state never says Installed for a profile whose
// pods would stay in RunContainerError (Debian 12's runc 1.1.5).
func TestSeccompFlagsMatchTheNodesRuntime(t *testing.T) {
	ctx := context.Background()
	name := "e2e-flags-" + rand.String(5)
	p := denyMkdir(name)
	p.Spec.Flags = []v1alpha1.Flag{"SECCOMP_FILTER_FLAG_LOG"}
	createProfile(t, p)

	var st v1alpha1.NodeProfileState
	eventually(t, 60*time.Second, "the node's verdict on "+name, func() bool {
		var ns v1alpha1.SeccompNodeStatus
		if err := k8s.Get(ctx, client.ObjectKey{Name: node}, &ns); err != nil {
			return false
		}
		got, ok := v1alpha1.FindNodeProfileState(ns.Status.Profiles, name)
		st = got
		return ok && (got.State == v1alpha1.InstallStateInstalled || got.State == v1alpha1.InstallStateFailed)
	})
	t.Logf("node %s: %s %s %s", node, st.State, st.Reason, st.Message)
	file := filepath.Join(kubeletRoot, "seccomp", "operator", name+".json")
	switch {
	case st.State == v1alpha1.InstallStateInstalled:
		// The agent says the runtime takes flags: a pod must run.
		startPod(t, probePod(name, "operator/"+name+".json"))
	case st.Reason == v1alpha1.NodeReasonSeccompFlags:
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("%s reported %s but its file is on the node: %v", name, st.Reason, err)
		}
		if !strings.Contains(st.Message, "SECCOMP_FILTER_FLAG_LOG") {
			t.Errorf("message %q does not name the flag", st.Message)
		}
		var got v1alpha1.SeccompProfile
		eventually(t, 30*time.Second, "the profile's status lists the node", func() bool {
			if err := k8s.Get(ctx, client.ObjectKey{Name: name}, &got); err != nil {
				return false
			}
			for _, f := range got.Status.FailedNodes {
				if f.Node == node && f.Reason == v1alpha1.NodeReasonSeccompFlags {
					return true
				}
			}
			return false
		})
	default:
		t.Fatalf("node state %+v, want Installed or Failed with reason %s", st, v1alpha1.NodeReasonSeccompFlags)
	}
}
