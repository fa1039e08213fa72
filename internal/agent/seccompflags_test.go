package agent

import (
	"os"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

// A profile with seccomp flags is installed only where the runtime accepts
// them; elsewhere the node says why and keeps the last version without
// flags for the pods that use it. A flag set by a base counts too.
func TestNodeInstallsFlagsOnlyWhereTheRuntimeTakesThem(t *testing.T) {
	for _, c := range []struct {
		name    string
		support runtimeflags.Detection
		ok      bool
		how     string
	}{
		{"supported", runtimeflags.Fixed(runtimeflags.Supported), true, ""},
		{"unsupported", runtimeflags.Detection{Support: runtimeflags.Unsupported, How: "/host/usr/sbin/runc: runc before 1.2.0"}, false, "refuses seccomp flags"},
		{"unknown", runtimeflags.Detection{Support: runtimeflags.Unknown, How: "no runtime binary at /x"}, false, "cannot tell"},
		{"not set", runtimeflags.Detection{}, false, "cannot tell"},
	} {
		t.Run(c.name, func(t *testing.T) {
			base, _ := webappProfile(t, "base", nil)
			child, _ := webappProfile(t, "child", nil)
			child.Spec.BaseProfileName = "base"
			cl := &memCluster{profiles: []*v1alpha1.SeccompProfile{base, child}}
			r, pass := testNode(t, cl)
			r.SeccompFlags = c.support
			pass()
			file := nodepath.Abs(r.Installer.Root, profilePath("child"))
			before, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}

			withFlags := base.DeepCopy()
			withFlags.Generation = 2
			withFlags.Spec.Flags = []v1alpha1.Flag{"SECCOMP_FILTER_FLAG_LOG"}
			cl.profiles = []*v1alpha1.SeccompProfile{withFlags, child}
			pass()
			after, _ := os.ReadFile(file)
			for _, st := range cl.state.Status.Profiles {
				if c.ok {
					if st.State != v1alpha1.InstallStateInstalled {
						t.Errorf("%s: %+v, want Installed", st.Name, st)
					}
					continue
				}
				if st.State != v1alpha1.InstallStateFailed || st.Reason != v1alpha1.NodeReasonSeccompFlags ||
					!strings.Contains(st.Message, c.how) || !strings.Contains(st.Message, "SECCOMP_FILTER_FLAG_LOG") ||
					!strings.Contains(st.Message, c.support.How) || st.ContentHash != "" {
					t.Errorf("%s: %+v, want Failed, reason %s, saying %q", st.Name, st, v1alpha1.NodeReasonSeccompFlags, c.how)
				}
			}
			if got := strings.Contains(string(after), "SECCOMP_FILTER_FLAG_LOG"); got != c.ok {
				t.Errorf("the child's file holds the flag: %v, want %v", got, c.ok)
			}
			if !c.ok && string(after) != string(before) {
				t.Error("the last version without flags was not kept")
			}
		})
	}
}
