package agent

import (
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// The operator's SECCOMP_FILTER_FLAG_LOG: on a node whose runtime takes
// flags every profile carries it unless its spec.logDenials is false; on a
// node whose runtime refuses flags (Debian 12's runc 1.1.5) or that cannot
// tell, the profiles are installed without it, reported Installed (a pod
// using them starts), and the node state's runtime and the gauge say that
// denials there leave no audit record. A steady node writes its state once.
func TestNodeInstallsTheLogFlagOnlyWhereTheRuntimeTakesIt(t *testing.T) {
	debian := runtimeflags.Detection{Support: runtimeflags.Unsupported,
		How: "/host/usr/sbin/runc: runc before 1.2.0 (its binary holds the refusal \"seccomp flags are not yet supported by runc\")"}
	for _, c := range []struct {
		name    string
		support runtimeflags.Detection
		logged  bool
		status  string
		says    string
	}{
		{"supported", runtimeflags.Fixed(runtimeflags.Supported), true, "Supported", "are audited"},
		{"debian runc", debian, false, "Unsupported", "leave no audit record: the runtime refuses seccomp flags (/host/usr/sbin/runc: runc before 1.2.0"},
		{"unknown", runtimeflags.Detection{Support: runtimeflags.Unknown, How: "no runtime binary at /x"}, false, "Unknown", "cannot tell"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dflt, _ := webappProfile(t, "dflt", nil)
			off, _ := webappProfile(t, "off", nil)
			no := false
			off.Spec.LogDenials = &no
			complain, _ := webappProfile(t, "complain", nil)
			complain.Spec.Mode = v1alpha1.ModeComplain
			cl := &memCluster{profiles: []*v1alpha1.SeccompProfile{complain, dflt, off}}
			r, pass := testNode(t, cl)
			r.SeccompFlags = c.support
			pass()

			for _, name := range []string{"dflt", "complain", "off"} {
				b, err := os.ReadFile(nodepath.Abs(r.Installer.Root, profilePath(name)))
				if err != nil {
					t.Fatal(err)
				}
				p, err := profile.Parse(b)
				if err != nil {
					t.Fatal(err)
				}
				want := c.logged && name != "off"
				if got := len(p.Flags) == 1 && p.Flags[0] == profile.FlagLog; got != want || (!want && len(p.Flags) > 0) {
					t.Errorf("%s: flags %v, want the LOG flag: %v", name, p.Flags, want)
				}
				if name == "complain" && p.DefaultAction != profile.ActAllow && p.DefaultAction != profile.ActLog {
					t.Errorf("complain: default action %s", p.DefaultAction)
				}
			}
			for _, st := range cl.state.Status.Profiles {
				if st.State != v1alpha1.InstallStateInstalled || st.ContentHash == "" {
					t.Errorf("%s: %+v, want Installed: the profile without the flag runs on this node", st.Name, st)
				}
			}
			rt := cl.state.Status.Runtime
			if rt == nil || rt.SeccompFlags != c.status || rt.DenialsLogged != c.logged || !strings.Contains(rt.Message, c.says) {
				t.Fatalf("status.runtime %+v, want %s, denialsLogged %v, saying %q", rt, c.status, c.logged, c.says)
			}
			if !c.logged && !strings.Contains(rt.Message, "runc >= 1.2.0") {
				t.Errorf("message %q does not say what to do", rt.Message)
			}
			if got := testutil.ToFloat64(denialsLogged); got != map[bool]float64{true: 1}[c.logged] {
				t.Errorf("seccomp_operator_agent_denials_logged %v, want logged=%v", got, c.logged)
			}
			writes := cl.writes["create"] + cl.writes["update"] + cl.writes["patch"]
			pass()
			if got := cl.writes["create"] + cl.writes["update"] + cl.writes["patch"]; got != writes {
				t.Errorf("a steady pass wrote the node state (%v)", cl.writes)
			}
		})
	}
}

// The runtime reaches the node state even when only the runtime changed
// (an agent restarted after a runc upgrade, same profiles), and a merge
// patch (after a conflict) carries it too.
func TestNodeStateRuntimeWrittenOnChange(t *testing.T) {
	sp, _ := webappProfile(t, "app", nil)
	no := false
	sp.Spec.LogDenials = &no // the same file either way: only the runtime changes
	cl := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}}
	r, pass := testNode(t, cl)
	r.SeccompFlags = runtimeflags.Fixed(runtimeflags.Unsupported)
	pass()
	if rt := cl.state.Status.Runtime; rt == nil || rt.DenialsLogged {
		t.Fatalf("runtime %+v", rt)
	}
	// A new agent (runc upgraded) on the same stored state.
	upgraded := func() func() {
		r2, pass2 := testNode(t, cl)
		r2.Installer = r.Installer
		r2.SeccompFlags = runtimeflags.Fixed(runtimeflags.Supported)
		return pass2
	}
	upgraded()()
	if rt := cl.state.Status.Runtime; rt == nil || !rt.DenialsLogged || rt.SeccompFlags != "Supported" || cl.writes["update"] != 1 {
		t.Fatalf("after the upgrade: runtime %+v, writes %v, want one update", rt, cl.writes)
	}
	// Again from Unsupported, with someone else's write in between: the
	// update conflicts and the merge patch carries the runtime.
	cl.state.Status.Runtime = &v1alpha1.NodeRuntime{SeccompFlags: "Unsupported"}
	cl.cached = cl.state.DeepCopy()
	cl.state.ResourceVersion = "999"
	cl.rv = 999
	upgraded()()
	if rt := cl.state.Status.Runtime; rt == nil || !rt.DenialsLogged || cl.writes["patch"] != 1 {
		t.Fatalf("after a conflict: runtime %+v, writes %v, want a patch", rt, cl.writes)
	}
}
