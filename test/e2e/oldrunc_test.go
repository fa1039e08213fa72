//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/util/rand"

	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

const (
	debianRunc = "/usr/sbin/runc"                        // Debian 12's runc 1.1.5: refuses seccomp flags
	pinnedRunc = "/usr/local/sbin/runc-seccomp-operator" // make up's (hack/runc.sh)
)

// The old runc path, run for real: the agent reads Debian's runc 1.1.5 as
// refusing flags, so it renders the profile without the operator's
// SECCOMP_FILTER_FLAG_LOG; that runc runs a container under it (mkdir
// denied, EPERM), while the same profile with the flag does not start at
// all ("seccomp flags are not yet supported by runc"): what a pod would get
// if the agent installed the flag there. make up's pinned runc runs the
// flagged profile and the kernel audits the denial. Each runtime runs an
// OCI bundle directly (runc run), beside the cluster's containerd.
func TestOldRuncRunsTheProfileWithoutTheFlag(t *testing.T) {
	out, err := exec.Command(debianRunc, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "runc version 1.1.") {
		t.Skipf("%s is not Debian's runc 1.1 (hack/install-deps.sh cluster installs it): %q %v", debianRunc, out, err)
	}
	d := runtimeflags.Detect([]string{debianRunc})
	if d.Support != runtimeflags.Unsupported {
		t.Fatalf("Detect(%s) = %+v, want unsupported", debianRunc, d)
	}
	ctx := context.Background()
	sp := denyMkdir("old-runc")
	render1 := func(takesFlags bool) []byte {
		prep, err := render.Prepare(ctx, nil, sp, []string{"x86_64"}, takesFlags)
		if err != nil || prep.Problem != "" {
			t.Fatal(err, prep.Problem)
		}
		return prep.Content
	}
	withoutFlag, withFlag := render1(d.Takes()), render1(true)
	if strings.Contains(string(withoutFlag), "SECCOMP_FILTER_FLAG_LOG") || !strings.Contains(string(withFlag), "SECCOMP_FILTER_FLAG_LOG") {
		t.Fatalf("renderings: for Debian's runc %s\nfor a current runc %s", withoutFlag, withFlag)
	}

	bundle := probeBundle(t)
	if out, err := runBundle(t, debianRunc, bundle, withoutFlag); !strings.Contains(out, "EPERM") {
		t.Errorf("Debian's runc, profile without the flag: %q (%v), want the container to run and mkdir to fail with EPERM", out, err)
	}
	if out, err := runBundle(t, debianRunc, bundle, withFlag); err == nil || !strings.Contains(out, "seccomp flags are not yet supported by runc") {
		t.Errorf("Debian's runc, profile with the flag: %q (%v), want its refusal", out, err)
	}
	if _, err := os.Stat(pinnedRunc); err != nil {
		t.Skipf("no %s (make up installs it): %v", pinnedRunc, err)
	}
	audit := readAudit(t)
	if out, err := runBundle(t, pinnedRunc, bundle, withFlag); !strings.Contains(out, "EPERM") {
		t.Errorf("make up's runc, profile with the flag: %q (%v), want EPERM", out, err)
	}
	if _, ok := audit.wait(10e9, `comm="probe"`, codeErrno); !ok {
		t.Error("make up's runc: the denial left no audit record")
	}
}

// probeBundle is an OCI bundle whose read-only root holds the e2e probe
// (built static here) and whose process runs `probe mkdir /x`: EPERM under
// the profile, EROFS without one.
func probeBundle(t *testing.T) string {
	t.Helper()
	bundle := t.TempDir()
	rootfs := filepath.Join(bundle, "rootfs")
	build := exec.Command("go", "build", "-o", filepath.Join(rootfs, "probe"), "./probe")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the probe: %v\n%s", err, out)
	}
	for _, d := range []string{"proc", "dev", "sys", "tmp"} {
		if err := os.MkdirAll(filepath.Join(rootfs, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command(debianRunc, "spec", "--bundle", bundle).CombinedOutput(); err != nil {
		t.Fatalf("runc spec: %v\n%s", err, out)
	}
	return bundle
}

// runBundle runs the bundle's container with runtime and the given seccomp
// profile (the rendered JSON as linux.seccomp), and returns its output.
func runBundle(t *testing.T, runtime, bundle string, profile []byte) (string, error) {
	t.Helper()
	cfgPath := filepath.Join(bundle, "config.json")
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(b, &spec); err != nil {
		t.Fatal(err)
	}
	proc := spec["process"].(map[string]any)
	proc["terminal"] = false
	proc["args"] = []string{"/probe", "mkdir", "/x"}
	spec["root"] = map[string]any{"path": "rootfs", "readonly": true}
	spec["linux"].(map[string]any)["seccomp"] = json.RawMessage(profile)
	if b, err = json.Marshal(spec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	id := "e2e-old-runc-" + rand.String(5)
	state := t.TempDir()
	cmd := exec.Command(runtime, "--root", state, "run", "--bundle", bundle, id)
	out, err := cmd.CombinedOutput()
	_ = exec.Command(runtime, "--root", state, "delete", "--force", id).Run()
	return strings.TrimSpace(string(out)), err
}
