//go:build integration

package integration

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// An administrator's own file at a predefined alias path: the agent leaves
// it alone, its node state says why the profile is not installed there, the
// profile's status names the node with that reason, and once the
// administrator removes the file the agent installs the profile.
func TestAgentLeavesAnAdministratorsAliasFile(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	aliasRel := "profiles/kubernetes/seccomp-k8s-webapp-profile.json"
	aliasPath := nodepath.Abs(root, aliasRel)
	admin := []byte(`{"defaultAction":"SCMP_ACT_LOG"}` + "\n")
	if err := os.MkdirAll(filepath.Dir(aliasPath), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(aliasPath, admin, 0o644); err != nil {
		t.Fatal(err)
	}
	a := startAgentWith(t, cfg, "agent-foreign", "x86_64", root, nil)

	eventually(t, "webapp Failed on the node with reason ForeignFile", func() bool {
		st, ok := nodeEntry(a.node, "webapp")
		return ok && st.State == v1alpha1.InstallStateFailed && st.Reason == v1alpha1.NodeReasonForeignFile &&
			strings.Contains(st.Message, aliasPath)
	})
	eventually(t, "webapp's status names the node and the reason", func() bool {
		var sp v1alpha1.SeccompProfile
		if k8s.Get(ctx, types.NamespacedName{Name: "webapp"}, &sp) != nil {
			return false
		}
		for _, f := range sp.Status.FailedNodes {
			if f.Node == a.node && f.Reason == v1alpha1.NodeReasonForeignFile {
				return true
			}
		}
		return false
	})
	if got, _ := os.ReadFile(aliasPath); !bytes.Equal(got, admin) {
		t.Fatalf("the administrator's file was overwritten: %q", got)
	}
	webapp := rendered(t, "webapp")
	if !bytes.Equal(a.read(profilePath("webapp")), webapp.Content) {
		t.Fatal("operator/webapp.json not installed")
	}

	// The administrator removes the file: the agent installs the profile.
	if err := os.Remove(aliasPath); err != nil {
		t.Fatal(err)
	}
	eventually(t, "alias installed once the administrator's file is gone", func() bool {
		st, ok := nodeEntry(a.node, "webapp")
		return bytes.Equal(a.read(aliasRel), webapp.Content) && ok && st.State == v1alpha1.InstallStateInstalled && st.Reason == ""
	})
}
