package procfs

import (
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
)

const childEnv = "PROCFS_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "filters" {
		// Two allow-all filters stacked, then wait for the parent to
		// read our status and close stdin.
		runtime.LockOSThread()
		allow := []bpf.RawInstruction{{Op: 0x06, K: 0x7fff0000}}
		for i := 0; i < 2; i++ {
			if _, err := filter.Install(allow, 0); err != nil {
				os.Stderr.WriteString(err.Error())
				os.Exit(3)
			}
		}
		os.Stdout.WriteString("ready\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestStatusOfFilteredProcess reads the real kernel's status of a child
// that stacked two filters: the mode, the count and no_new_privs.
func TestStatusOfFilteredProcess(t *testing.T) {
	self, _ := os.Executable()
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), childEnv+"=filters")
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil {
		t.Fatalf("child not ready: %v", err)
	}
	// The child's main thread installed the filters (other threads keep
	// none), and the main thread's status is the process's.
	st, err := Status("/proc", cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if st.Seccomp != SeccompFilter || st.SeccompFilters != 2 || !st.NoNewPrivs || st.Name == "" {
		t.Errorf("child under two filters: %+v", st)
	}
	me, err := Status("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if me.Seccomp != SeccompDisabled || me.SeccompFilters != 0 {
		t.Errorf("the test itself: %+v", me)
	}
	if _, err := Status("/proc", -1); err == nil {
		t.Error("no error for a pid that cannot exist")
	}
}

func TestParseStatus(t *testing.T) {
	full := "Name:\tnginx\nUmask:\t0022\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread force mitigated\n"
	st, err := parseStatus([]byte(full))
	if err != nil || st != (ProcStatus{Name: "nginx", Seccomp: SeccompFilter, SeccompFilters: 1, NoNewPrivs: true}) {
		t.Errorf("full: %+v, %v", st, err)
	}
	// A kernel before 5.9 has no Seccomp_filters line.
	st, err = parseStatus([]byte("Name:\tsh\nNoNewPrivs:\t0\nSeccomp:\t0\n"))
	if err != nil || st.SeccompFilters != -1 || st.Seccomp != SeccompDisabled || st.NoNewPrivs {
		t.Errorf("old kernel: %+v, %v", st, err)
	}
	for _, bad := range []string{"", "Name:\tx\n", "Seccomp:\tx\n", "Seccomp:\t2\nSeccomp_filters:\t-1\n"} {
		if st, err := parseStatus([]byte(bad)); err == nil {
			t.Errorf("parseStatus(%q) = %+v, want an error", bad, st)
		}
	}
	if s := SeccompStrict.String(); s != "strict" {
		t.Errorf("strict: %q", s)
	}
}

func TestParseStartTime(t *testing.T) {
	// A command name with spaces and a ")" of its own.
	stat := "4242 (we (ird) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 3133440 417 18446744073709551615 1 2 3\n"
	if n, ok := parseStartTime([]byte(stat)); !ok || n != 987654 {
		t.Errorf("start time %d, %v", n, ok)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x" + strings.Repeat(" 1", 30), "1 (x) S 1 1 1 0 -1 1 1 0 0 0 0 0 0 0 20 0 1 0 12a4 1\n"} {
		if n, ok := parseStartTime([]byte(bad)); ok {
			t.Errorf("parseStartTime(%q) = %d", bad, n)
		}
	}
	b, _ := os.ReadFile("/proc/self/stat")
	if _, ok := parseStartTime(b); !ok {
		t.Errorf("cannot read the start time of %q", b)
	}
}
