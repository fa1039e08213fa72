package filter

import (
	"bytes"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

const recordHelperEnv = "FILTER_TEST_RECORD_HELPER"

// init runs the record tests' command before TestMain: a Go program that
// makes sysinfo only on a second OS thread, so a recorder that followed
// only the thread it started would miss it.
func init() {
	MaybeRunChild() // the wrapper inherits the helper's variable
	if os.Getenv(recordHelperEnv) != "threads" {
		return
	}
	runtime.LockOSThread()
	done := make(chan error)
	go func() {
		runtime.LockOSThread() // another thread: main's is locked
		var si unix.Sysinfo_t
		done <- unix.Sysinfo(&si)
	}()
	if err := <-done; err != nil {
		os.Exit(3)
	}
	os.Exit(0)
}

// recordAll is the program `seccompctl record` loads: USER_NOTIF for every
// syscall of every ABI of the host's family.
func recordAll(t *testing.T) *bpf.Program {
	t.Helper()
	native := syscalls.MustGet(runtime.GOARCH).Name
	prog, err := bpf.Compile(recording.NotifyAll(native), bpf.Options{Arch: native, Notify: true})
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

func record(t *testing.T, stdout io.Writer, argv ...string) (*recording.Set, int) {
	t.Helper()
	prog := recordAll(t)
	rep, err := Run(prog.Instructions, prog.Flags, argv, RunOptions{Notify: true, Record: true, Stdout: stdout, Stderr: os.Stderr})
	if err != nil {
		t.Fatalf("record %v: %v", argv, err)
	}
	if len(rep.Denied) != 0 {
		t.Errorf("a recording reports denials: %v", rep.Denied)
	}
	var s recording.Set
	for _, c := range rep.Recorded {
		if !s.AddAudit(c.Audit, int(c.Nr)) {
			t.Errorf("unnamed syscall %#x/%d", c.Audit, c.Nr)
		}
	}
	return &s, rep.ExitCode
}

func TestRecordSeesThreadsAndDescendants(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(recordHelperEnv, "threads")
	// sh forks the helper: the helper is a descendant, its sysinfo comes
	// from its second thread.
	s, code := record(t, os.Stdout, "sh", "-c", self+"; exit $?")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"sysinfo", "clone", "wait4", "execve", "read"} {
		if !s.Has(want) {
			t.Errorf("recording lacks %s: %v", want, s.Names())
		}
	}
	if abis := s.ABIs(); !slices.Equal(abis, []string{syscalls.MustGet(runtime.GOARCH).Name}) {
		t.Errorf("ABIs %v", abis)
	}
}

// TestRunnerSyscallsStartTheCommand enforces, with Run, a profile recorded
// with Record plus RunnerSyscalls, and then the same profile without two of
// the wrapper's syscalls: without execve the command never starts, and
// without prlimit64 it starts with Go's raised RLIMIT_NOFILE instead of the
// one it was given (the wrapper's restore is denied).
func TestRunnerSyscallsStartTheCommand(t *testing.T) {
	var orig unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &orig); err != nil {
		t.Fatal(err)
	}
	if orig.Max < 2048 {
		t.Skipf("hard RLIMIT_NOFILE %d: too low to tell a lowered soft limit from Go's raised one", orig.Max)
	}
	// A soft limit below the hard one: the re-executed Go wrapper raises
	// it at start-up and must restore it before execve.
	low := unix.Rlimit{Cur: 1024, Max: orig.Max}
	if err := unix.Setrlimit(unix.RLIMIT_NOFILE, &low); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Setrlimit(unix.RLIMIT_NOFILE, &orig) })

	// glibc's start-up makes a prlimit64 of its own (RLIMIT_STACK), so
	// the profile has it either way; the check without it below is what
	// shows the wrapper needs it.
	argv := []string{"cat", "/proc/self/limits"}
	// The command's own syscalls only: complain mode on the record-all
	// program skips the wrapper's, so RunnerSyscalls alone must cover them.
	prog := recordAll(t)
	var out bytes.Buffer
	rep, err := Run(prog.Instructions, prog.Flags, argv, RunOptions{Notify: true, Stdout: &out, Stderr: os.Stderr,
		Resolve: func(arch uint32, nr int32) (string, string) {
			a, _ := syscalls.ByAudit(arch, int(nr))
			n, _ := a.NameOf(int(nr))
			return a.Name, n
		}})
	if err != nil || rep.ExitCode != 0 || !strings.Contains(openFiles(out.String()), " 1024 ") {
		t.Fatalf("unconfined run: %v, exit %d, limits %q", err, rep.ExitCode, openFiles(out.String()))
	}
	var s recording.Set
	for _, d := range rep.Denied {
		s.Add(d.Arch, d.Syscall)
	}
	if s.Has("execve") {
		t.Fatalf("the wrapper's calls are counted as the command's: %v", s.Names())
	}
	for _, n := range RunnerSyscalls {
		s.Add(syscalls.MustGet(runtime.GOARCH).Name, n)
	}
	enforce := func(drop string) (int, string) {
		p := recording.Profile(&s, recording.ProfileOptions{Native: syscalls.MustGet(runtime.GOARCH).Name})
		p.Syscalls[0].Names = slices.DeleteFunc(slices.Clone(p.Syscalls[0].Names), func(n string) bool { return n == drop })
		prog, err := bpf.Compile(p, bpf.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		rep, err := Run(prog.Instructions, prog.Flags, argv, RunOptions{Stdout: &out, Stderr: os.Stderr})
		if err != nil {
			t.Fatal(err)
		}
		return rep.ExitCode, openFiles(out.String())
	}
	if code, lim := enforce(""); code != 0 || !strings.Contains(lim, " 1024 ") {
		t.Errorf("under the recorded profile: exit %d, limits %q, want 0 and soft 1024", code, lim)
	}
	if code, lim := enforce("prlimit64"); code != 0 || strings.Contains(lim, " 1024 ") {
		t.Errorf("without prlimit64: exit %d, limits %q: want the raised soft limit (the wrapper's restore denied)", code, lim)
	}
	if code, _ := enforce("execve"); code != 126 {
		t.Errorf("without execve: exit %d, want 126 (exec denied)", code)
	}
}

func openFiles(limits string) string {
	for _, l := range strings.Split(limits, "\n") {
		if strings.HasPrefix(l, "Max open files") {
			return l
		}
	}
	return ""
}
