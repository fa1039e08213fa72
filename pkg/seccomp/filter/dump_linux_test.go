package filter

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"reflect"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
)

const (
	stackEnv  = "FILTER_TEST_STACKED"
	denyRmdir = `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["rmdir"],"action":"SCMP_ACT_ERRNO"}]}`
)

func stackedPrograms(t *testing.T) (older, newer *bpf.Program) {
	return compile(t, denyMkdir, false), compile(t, denyRmdir, false)
}

// maybeStackedChild runs as the child of TestDumpStackedFilters: it loads
// the older filter, then the newer one, on all its threads (TSYNC, so the
// main thread that Dump reads has both whichever thread runs this), says
// ready and waits for stdin to close.
func maybeStackedChild() {
	if os.Getenv(stackEnv) == "" {
		return
	}
	runtime.LockOSThread()
	t := &testing.T{}
	older, newer := stackedPrograms(t)
	for _, p := range []*bpf.Program{older, newer} {
		if _, err := Install(p.Instructions, unix.SECCOMP_FILTER_FLAG_TSYNC); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(3)
		}
	}
	os.Stdout.WriteString("ready\n")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func startChild(t *testing.T, env string) (*exec.Cmd, io.WriteCloser) {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self, "-test.run=^$")
	if env != "" {
		cmd.Env = append(os.Environ(), env)
	} else {
		cmd = exec.Command("cat")
	}
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if env != "" {
		if l, err := bufio.NewReader(out).ReadString('\n'); err != nil || l != "ready\n" {
			t.Fatalf("child not ready: %q %v", l, err)
		}
	}
	return cmd, stdin
}

// TestDumpStackedFilters reads a process's two filters back from this
// kernel, in the order they were installed and exactly as loaded, and
// leaves the process running.
func TestDumpStackedFilters(t *testing.T) {
	cmd, stdin := startChild(t, stackEnv+"=1")
	progs, err := Dump(cmd.Process.Pid)
	if err != nil {
		stdin.Close()
		cmd.Wait()
		t.Fatal(err)
	}
	older, newer := stackedPrograms(t)
	if len(progs) != 2 {
		t.Fatalf("%d filters, want 2", len(progs))
	}
	if !reflect.DeepEqual(progs[0], older.Instructions) || !reflect.DeepEqual(progs[1], newer.Instructions) {
		t.Errorf("filters read back differ from those loaded (oldest first):\n%s\n%s", bpf.Disassemble(progs[0]), bpf.Disassemble(progs[1]))
	}
	// Read twice: the first detach left it able to be traced again.
	if again, err := Dump(cmd.Process.Pid); err != nil || len(again) != 2 {
		t.Errorf("second dump: %d filters, %v", len(again), err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Errorf("child after the dumps: %v (it should run on and exit 0)", err)
	}
}

func TestDumpWithoutFilter(t *testing.T) {
	cmd, stdin := startChild(t, "")
	defer func() { stdin.Close(); cmd.Wait() }()
	progs, err := Dump(cmd.Process.Pid)
	if err != nil || len(progs) != 0 {
		t.Fatalf("a process without filters: %d filters, %v", len(progs), err)
	}
	if _, err := Dump(1 << 30); err == nil {
		t.Error("no error for a pid that does not exist")
	}
}
