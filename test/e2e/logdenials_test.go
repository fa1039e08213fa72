//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Codes of the seccomp verdicts in an audit record (code=): ERRNO without
// its errno value, and LOG.
const (
	codeErrno = "code=0x50000"
	codeLog   = "code=0x7ffc0000"
)

// fileFlags are the seccomp flags of a profile file on the node.
func fileFlags(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Flags []string `json:"flags"`
	}
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p.Flags
}

// make up runs a runc that takes seccomp flags (hack/runc.sh), and the
// agent, reading exactly that binary, says so in the node state.
func TestNodeRuntimeLogsDenials(t *testing.T) {
	var ns v1alpha1.SeccompNodeStatus
	eventually(t, 30*time.Second, "the node state's runtime", func() bool {
		return k8s.Get(context.Background(), client.ObjectKey{Name: node}, &ns) == nil && ns.Status.Runtime != nil
	})
	rt := ns.Status.Runtime
	if rt.SeccompFlags != "Supported" || !rt.DenialsLogged || !strings.Contains(rt.Message, "runc-seccomp-operator") {
		t.Errorf("status.runtime %+v, want Supported, denials logged, naming make up's runc", rt)
	}
}

// An operator profile carries SECCOMP_FILTER_FLAG_LOG by default: the
// runtime loads the filter with it, the pod starts, its denied mkdir fails
// with EPERM and the kernel audits the denial (without the flag an ERRNO
// verdict leaves no record at all).
func TestDenialAudited(t *testing.T) {
	audit := readAudit(t)
	name := "e2e-logged-" + rand.String(5)
	createProfile(t, denyMkdir(name))
	file := waitInstalled(t, name, 60*time.Second)
	if got := fileFlags(t, file); !slices.Equal(got, []string{"SECCOMP_FILTER_FLAG_LOG"}) {
		t.Errorf("%s: flags %v, want [SECCOMP_FILTER_FLAG_LOG]", file, got)
	}
	pid := startPod(t, probePod(name, "operator/"+name+".json"))
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("container process %d: Seccomp: %s, want 2", pid, got)
	}
	if got := execProbe(t, name, "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir in the container: %q, want EPERM", got)
	}
	rec, ok := audit.wait(10*time.Second, `comm="probe"`, codeErrno)
	if !ok {
		t.Fatalf("no audit record of the denied mkdir (code=0x50000) from the probe")
	}
	if !strings.Contains(rec, "syscall=258") && !strings.Contains(rec, "syscall=83") {
		t.Errorf("record %q is not mkdir/mkdirat", rec)
	}
	t.Logf("audit: %s", rec)
}

// mode: Complain: the call succeeds and the kernel audits it as LOG.
func TestComplainAudited(t *testing.T) {
	audit := readAudit(t)
	name := "e2e-complain-" + rand.String(5)
	p := denyMkdir(name)
	p.Spec.Mode = v1alpha1.ModeComplain
	createProfile(t, p)
	file := waitInstalled(t, name, 60*time.Second)
	if got := fileFlags(t, file); !slices.Equal(got, []string{"SECCOMP_FILTER_FLAG_LOG"}) {
		t.Errorf("%s: flags %v, want [SECCOMP_FILTER_FLAG_LOG]", file, got)
	}
	startPod(t, probePod(name, "operator/"+name+".json"))
	if got := execProbe(t, name, "mkdir", "/tmp/complain"); got != "ok" {
		t.Errorf("mkdir in complain mode: %q, want ok", got)
	}
	rec, ok := audit.wait(10*time.Second, `comm="probe"`, codeLog)
	if !ok {
		t.Fatalf("no audit record (code=0x7ffc0000) of the mkdir complain mode let through")
	}
	t.Logf("audit: %s", rec)
}

// logDenials: false installs the profile without the flag: the denial
// still fails with EPERM, and leaves no audit record.
func TestLogDenialsOff(t *testing.T) {
	audit := readAudit(t)
	name := "e2e-nolog-" + rand.String(5)
	p := denyMkdir(name)
	p.Spec.LogDenials = ptr.To(false)
	createProfile(t, p)
	file := waitInstalled(t, name, 60*time.Second)
	if got := fileFlags(t, file); got != nil {
		t.Errorf("%s: flags %v, want none", file, got)
	}
	startPod(t, probePod(name, "operator/"+name+".json"))
	if got := execProbe(t, name, "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir: %q, want EPERM", got)
	}
	if rec, ok := audit.wait(3*time.Second, `comm="probe"`, codeErrno); ok {
		t.Errorf("a denial of a profile with logDenials false was audited: %s", rec)
	}
}
