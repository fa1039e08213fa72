package cli

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

const (
	// recordHelperEnv makes the test binary the recorded command: a Go
	// program (several threads) whose sysinfo comes from a second thread,
	// exit 3 when it is denied.
	recordHelperEnv = "CLI_TEST_RECORD_HELPER"
	// seccompctlEnv makes the test binary seccompctl (for the
	// unprivileged test, which must start it as another user).
	seccompctlEnv = "CLI_TEST_SECCOMPCTL"
)

// init runs before TestMain: the helper's environment is inherited by the
// re-executed wrapper, which must become the wrapper first.
func init() {
	filter.MaybeRunChild()
	if os.Getenv(seccompctlEnv) == "1" {
		os.Unsetenv(seccompctlEnv)
		os.Exit(Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	if os.Getenv(recordHelperEnv) == "threads" {
		// Spin past the runtime's 10 ms preemption slice, so every run
		// makes the preemption signal's syscalls, recorded or not.
		for end := time.Now().Add(50 * time.Millisecond); time.Now().Before(end); {
		}
		runtime.LockOSThread()
		done := make(chan error)
		go func() {
			runtime.LockOSThread() // main's thread is locked: this is another
			var si unix.Sysinfo_t
			done <- unix.Sysinfo(&si)
			// Never return: a locked goroutine's end exits its thread
			// (exit), which may or may not come before main's exit_group.
			select {}
		}()
		if err := <-done; err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
}

func readRecorded(t *testing.T, path string) *profile.Profile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(b)
	if err != nil {
		t.Fatalf("recorded profile: %v\n%s", err, b)
	}
	return p
}

// without writes p without the syscall name to a new file.
func without(t *testing.T, p *profile.Profile, name string) string {
	t.Helper()
	q := p.DeepCopy()
	for i := range q.Syscalls {
		q.Syscalls[i].Names = slices.DeleteFunc(q.Syscalls[i].Names, func(n string) bool { return n == name })
	}
	b, err := profile.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "without-"+name+".json", string(b))
}

// TestRecordThenRun records a command tree (sh, and a multi-threaded Go
// program it forks), then runs the same tree under the recorded profile:
// complain mode sees no would-be denial and enforcement lets it exit 0.
// Without one recorded syscall the same run is reported and denied, so the
// check can fail.
func TestRecordThenRun(t *testing.T) {
	for _, rec := range recorders(t) {
		t.Run(rec, func(t *testing.T) { testRecordThenRun(t, rec) })
	}
}

// recorders are the recorders a test can use here: notify always, ebpf as
// root (the kernel tests run as root).
func recorders(t *testing.T) []string {
	if os.Geteuid() != 0 {
		t.Log("not root: the eBPF recorder is not tested")
		return []string{"notify"}
	}
	return []string{"notify", "ebpf"}
}

func testRecordThenRun(t *testing.T, rec string) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(recordHelperEnv, "threads")
	argv := []string{"sh", "-c", self + " & wait $!; exit $?"}
	out := filepath.Join(t.TempDir(), "tree.json")
	code, _, errOut := run(t, append([]string{"record", "--recorder", rec, "-o", out, "--"}, argv...)...)
	if code != 0 {
		t.Fatalf("record: exit %d\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "seccompctl: recorded ") || !strings.Contains(errOut, "profile written to "+out) {
		t.Errorf("record summary:\n%s", errOut)
	}
	p := readRecorded(t, out)
	if p.DefaultAction != profile.ActErrno || len(p.Syscalls) < 1 || p.Syscalls[0].Action != profile.ActAllow {
		t.Errorf("recorded profile shape: %+v", p)
	}
	names := p.Syscalls[0].Names
	for _, want := range append([]string{"sysinfo", "clone", "wait4"}, filter.RunnerSyscalls...) {
		if !slices.Contains(names, want) {
			t.Errorf("recorded profile lacks %s", want)
		}
	}
	if !slices.Equal(p.Architectures, []string{"SCMP_ARCH_X32", "SCMP_ARCH_X86", "SCMP_ARCH_X86_64"}) && runtime.GOARCH == "amd64" {
		t.Errorf("architectures %v", p.Architectures)
	}

	code, _, errOut = run(t, append([]string{"run", "--complain", "--profile", out, "--"}, argv...)...)
	if code != 0 || !strings.Contains(errOut, "no syscall would have been denied") {
		t.Errorf("run --complain under the recorded profile: exit %d\n%s", code, errOut)
	}
	if code, _, errOut = run(t, append([]string{"run", "--profile", out, "--"}, argv...)...); code != 0 {
		t.Errorf("run under the recorded profile: exit %d\n%s", code, errOut)
	}

	cut := without(t, p, "sysinfo")
	code, _, errOut = run(t, append([]string{"run", "--complain", "--profile", cut, "--"}, argv...)...)
	if code != 0 || !strings.Contains(errOut, "sysinfo (x86_64) × 1") {
		t.Errorf("run --complain without sysinfo: exit %d, want sysinfo reported\n%s", code, errOut)
	}
	if code, _, _ = run(t, append([]string{"run", "--profile", cut, "--"}, argv...)...); code != 3 {
		t.Errorf("run without sysinfo: exit %d, want 3 (the helper's sysinfo denied)", code)
	}
}

// TestRecordI386Child records a 32-bit Go program: its syscalls are named
// with the i386 table (mmap2 and set_thread_area exist only there), and
// the profile lets it run with no would-be denial.
func TestRecordI386Child(t *testing.T) {
	for _, rec := range recorders(t) {
		t.Run(rec, func(t *testing.T) { testRecordI386Child(t, rec) })
	}
}

func testRecordI386Child(t *testing.T, rec string) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the i386 compat ABI is an x86_64 host's")
	}
	goTool, err := exec.LookPath("go") // go test puts its own first in PATH
	if err != nil {
		t.Fatalf("no go tool to build the 386 program: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "rec386")
	build := exec.Command(goTool, "build", "-o", bin, "./testdata/rec386")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the 386 program: %v\n%s", err, b)
	}
	out := filepath.Join(t.TempDir(), "i386.json")
	code, stdout, errOut := run(t, "record", "--recorder", rec, "-o", out, "--", bin)
	if code != 0 || stdout != "hello from i386\n" {
		t.Fatalf("record: exit %d, stdout %q\n%s", code, stdout, errOut)
	}
	if !strings.Contains(errOut, "x86 ") {
		t.Errorf("summary shows no x86 (i386) ABI:\n%s", errOut)
	}
	p := readRecorded(t, out)
	for _, want := range []string{"mmap2", "set_thread_area"} {
		if !slices.Contains(p.Syscalls[0].Names, want) {
			t.Errorf("i386 syscall %s not recorded: %v", want, p.Syscalls[0].Names)
		}
	}
	if !slices.Contains(p.Architectures, "SCMP_ARCH_X86") {
		t.Errorf("architectures %v lack SCMP_ARCH_X86", p.Architectures)
	}
	code, _, errOut = run(t, "run", "--complain", "--profile", out, "--", bin)
	if code != 0 || !strings.Contains(errOut, "no syscall would have been denied") {
		t.Errorf("run --complain: exit %d\n%s", code, errOut)
	}
	cut := without(t, p, "set_thread_area")
	if code, _, errOut = run(t, "run", "--complain", "--profile", cut, "--", bin); !strings.Contains(errOut, "set_thread_area (x86) × ") {
		t.Errorf("without set_thread_area: exit %d, want it reported on x86\n%s", code, errOut)
	}
}

func TestRecordForms(t *testing.T) {
	// -o yaml prints the CRD form, named after the command.
	code, stdout, errOut := run(t, "record", "-o", "yaml", "--", "true")
	if code != 0 {
		t.Fatalf("record -o yaml: exit %d\n%s", code, errOut)
	}
	var obj struct {
		Kind     string            `json:"kind"`
		Metadata map[string]string `json:"metadata"`
		Spec     struct {
			DefaultAction string `json:"defaultAction"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &obj); err != nil || obj.Kind != "SeccompProfile" || obj.Metadata["name"] != "true" || obj.Spec.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("record -o yaml: %v %+v\n%s", err, obj, stdout)
	}
	// A .yaml file gets the CRD form too; --name names it.
	f := filepath.Join(t.TempDir(), "x.yaml")
	if code, _, errOut := run(t, "record", "-o", f, "--name", "my-app", "--", "true"); code != 0 {
		t.Fatalf("record -o x.yaml: exit %d\n%s", code, errOut)
	}
	if b, _ := os.ReadFile(f); !strings.Contains(string(b), "name: my-app") || !strings.Contains(string(b), "kind: SeccompProfile") {
		t.Errorf("record -o x.yaml:\n%s", b)
	}
	// --base keeps the base's rules and adds what they lack.
	code, stdout, errOut = run(t, "record", "--base", "webapp", "--", "true")
	if code != 0 {
		t.Fatalf("record --base webapp: exit %d\n%s", code, errOut)
	}
	var p profile.Profile
	if err := json.Unmarshal([]byte(stdout), &p); err != nil {
		t.Fatal(err)
	}
	base, _ := predefined.Get("webapp")
	if len(p.Syscalls) < len(base.Profile.Syscalls) || p.DefaultAction != base.Profile.DefaultAction {
		t.Errorf("--base webapp: %d rules, default %s; the base has %d", len(p.Syscalls), p.DefaultAction, len(base.Profile.Syscalls))
	}
	// The command's exit code is seccompctl's.
	if code, _, _ := run(t, "record", "-o", filepath.Join(t.TempDir(), "f.json"), "--", "sh", "-c", "exit 7"); code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"record", "--recorder", "x", "--", "true"}, `unknown --recorder "x"`},
		{[]string{"record", "--format", "xml", "--", "true"}, `unknown --format "xml"`},
		{[]string{"record", "-o", "json", "--format", "crd", "--", "true"}, "contradicts"},
		{[]string{"record", "--base", "nope", "--", "true"}, `--base: unknown profile "nope"`},
		{[]string{"record", "--format", "crd", "--name", "Bad_Name", "--", "true"}, "--name"},
	} {
		if code, _, errOut := run(t, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// TestRecordUnprivileged records and then runs as nobody: user
// notification needs no privilege (no_new_privs is set first).
func TestRecordUnprivileged(t *testing.T) {
	if os.Geteuid() != 0 {
		code, _, errOut := run(t, "record", "-o", filepath.Join(t.TempDir(), "p.json"), "--", "sh", "-c", "ls / >/dev/null")
		if code != 0 {
			t.Fatalf("record as uid %d: exit %d\n%s", os.Geteuid(), code, errOut)
		}
		return
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) is needed to drop to nobody")
	}
	// A copy of this binary and a directory nobody can reach.
	dir, err := os.MkdirTemp("", "record-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o777)
	self, _ := os.Executable()
	bin := filepath.Join(dir, "seccompctl")
	copyFile(t, self, bin)
	prof := filepath.Join(dir, "p.json")
	asNobody := func(args ...string) (string, error) {
		cmd := exec.Command(setpriv, append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--", bin}, args...)...)
		cmd.Env = append(os.Environ(), seccompctlEnv+"=1")
		cmd.Dir = dir
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	argv := []string{"sh", "-c", "id -u; ls / >/dev/null"}
	out, err := asNobody(append([]string{"record", "-o", prof, "--"}, argv...)...)
	if err != nil || !strings.HasPrefix(out, "65534\n") {
		t.Fatalf("record as nobody: %v\n%s", err, out)
	}
	out, err = asNobody(append([]string{"run", "--complain", "--profile", prof, "--"}, argv...)...)
	if err != nil || !strings.Contains(out, "no syscall would have been denied") {
		t.Errorf("run --complain as nobody: %v\n%s", err, out)
	}
	if out, err = asNobody("record", "--recorder", "ebpf", "--", "true"); err == nil || !strings.Contains(out, "needs root") {
		t.Errorf("record --recorder ebpf as nobody: %v, want a 'needs root' error\n%s", err, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
