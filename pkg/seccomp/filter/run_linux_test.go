package filter

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

const (
	helperEnv = "FILTER_TEST_HELPER"
	markerArg = 0x5eccdead
)

func TestMain(m *testing.M) {
	MaybeRunChild()
	maybeStackedChild()
	if os.Getenv(helperEnv) == "marker" {
		// Runs as the command under the filter: 1000 getpriority calls
		// with a marker argument the profile denies (nothing else passes
		// it, unlike an argument-free syscall the Go runtime may also
		// make), to check complain mode loses none.
		for i := 0; i < 1000; i++ {
			unix.RawSyscall(unix.SYS_GETPRIORITY, markerArg, 0, 0)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func compile(t *testing.T, js string, notify bool) *bpf.Program {
	t.Helper()
	p, err := profile.Parse([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := syscalls.Get(runtime.GOARCH)
	prog, err := bpf.Compile(p, bpf.Options{Arch: a.Name, Notify: notify})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

const denyMkdir = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}`

func runProg(t *testing.T, prog *bpf.Program, notify bool, argv ...string) *Report {
	t.Helper()
	rep, err := Run(prog.Instructions, prog.Flags, argv, RunOptions{
		Notify: notify, Stdout: os.Stdout, Stderr: os.Stderr,
		Resolve: func(arch uint32, nr int32) (string, string) {
			a, _ := syscalls.Get(runtime.GOARCH)
			n, _ := a.NameOf(int(nr))
			return a.Name, n
		},
	})
	if err != nil {
		t.Fatalf("Run %v: %v", argv, err)
	}
	return rep
}

func TestRunEnforces(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	rep := runProg(t, compile(t, denyMkdir, false), false, "mkdir", dir)
	if rep.ExitCode == 0 {
		t.Error("mkdir succeeded under a profile that denies it")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("directory exists after a denied mkdir: %v", err)
	}
	if rep := runProg(t, compile(t, denyMkdir, false), false, "true"); rep.ExitCode != 0 {
		t.Errorf("true: exit %d", rep.ExitCode)
	}
	if rep := runProg(t, compile(t, denyMkdir, false), false, "sh", "-c", "exit 7"); rep.ExitCode != 7 {
		t.Errorf("exit code not passed through: %d, want 7", rep.ExitCode)
	}
	if rep := runProg(t, compile(t, denyMkdir, false), false, "sh", "-c", "kill -TERM $$"); rep.ExitCode != 128+15 {
		t.Errorf("killed by SIGTERM: exit %d, want 143", rep.ExitCode)
	}
}

func TestRunKernelReportsSeccompMode(t *testing.T) {
	out := filepath.Join(t.TempDir(), "status")
	rep := runProg(t, compile(t, denyMkdir, false), false, "sh", "-c", "grep ^Seccomp: /proc/self/status > "+out)
	if rep.ExitCode != 0 {
		t.Fatalf("exit %d", rep.ExitCode)
	}
	b, _ := os.ReadFile(out)
	if string(b) != "Seccomp:\t2\n" {
		t.Errorf("confined process reports %q, want filter mode 2", b)
	}
}

func TestRunComplain(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	rep := runProg(t, compile(t, denyMkdir, true), true, "mkdir", dir)
	if rep.ExitCode != 0 {
		t.Fatalf("complain mode denied: exit %d", rep.ExitCode)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("complain mode: mkdir did not happen: %v", err)
	}
	if len(rep.Denied) != 1 || (rep.Denied[0].Syscall != "mkdir" && rep.Denied[0].Syscall != "mkdirat") || rep.Denied[0].Count != 1 {
		t.Errorf("report %+v, want one mkdir/mkdirat × 1", rep.Denied)
	}
}

func TestRunComplainLosesNothing(t *testing.T) {
	t.Setenv(helperEnv, "marker")
	prog := compile(t, fmt.Sprintf(`{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["getpriority"],"action":"SCMP_ACT_ERRNO",
	  "args":[{"index":0,"value":%d,"op":"SCMP_CMP_EQ"}]}]}`, markerArg), true)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rep := runProg(t, prog, true, self)
	if rep.ExitCode != 0 {
		t.Fatalf("helper exit %d", rep.ExitCode)
	}
	got := fmt.Sprint(rep.Denied)
	if len(rep.Denied) != 1 || rep.Denied[0].Syscall != "getpriority" || rep.Denied[0].Count != 1000 {
		t.Errorf("report %s, want exactly getpriority × 1000", got)
	}
}
