package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runUnder starts `seccompctl run --profile prof -- sh -c 'cat; :'` in-process
// and returns cat's pid; cat, which inherits the filter, runs until the
// returned function closes its stdin. cat is a grandchild: the test's own
// wait for its child would take the ptrace stop inspect waits for.
func runUnder(t *testing.T, prof string) (int, func()) {
	t.Helper()
	r, w := io.Pipe()
	done := make(chan int, 1)
	go func() {
		var out, errb strings.Builder
		done <- Execute([]string{"run", "--profile", prof, "--", "sh", "-c", "cat; :"}, r, &out, &errb)
	}()
	stop := func() {
		w.Close()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("cat under %s exited %d", prof, code)
			}
		case <-time.After(10 * time.Second):
			t.Error("cat did not exit")
		}
	}
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(10 * time.Millisecond) {
		if sh := childNamed(os.Getpid(), "sh"); sh > 0 {
			if pid := childNamed(sh, "cat"); pid > 0 {
				return pid, stop
			}
		}
	}
	stop()
	t.Fatal("cat under the filter did not start")
	return 0, nil
}

// childNamed finds a child of parent whose command is name.
func childNamed(parent int, name string) int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		s := string(b)
		open, end := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || end < open || s[open+1:end] != name {
			continue
		}
		fields := strings.Fields(s[end+1:])
		if len(fields) > 1 && fields[1] == strconv.Itoa(parent) {
			pid, _ := strconv.Atoi(strings.Fields(s)[0])
			return pid
		}
	}
	return 0
}

const inspectProfile = `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
  "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"},
    {"names":["personality"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}`

// A process under a filter compiled from a profile: inspect proves the
// kernel's filter equal to that profile, and lists the differences from a
// profile that also denies rmdir.
func TestInspectProvesProfile(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN")
	}
	prof := writeFile(t, "p.json", inspectProfile)
	more := writeFile(t, "more.json", strings.Replace(inspectProfile, `"mkdir","mkdirat"`, `"mkdir","mkdirat","rmdir"`, 1))
	pid, stop := runUnder(t, prof)
	defer stop()

	code, out, errOut := run(t, "inspect", strconv.Itoa(pid), "--profile", prof)
	if code != 0 {
		t.Fatalf("inspect against its own profile: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"(cat) on the host: seccomp filter, 1 filter(s)", "filter 0 (", "ld  arch", "runtime model none",
		"PROVEN EQUAL", "x86_64: every number 0..", "x32: every number 1073741824..", "argument vectors for personality", "not proven: argument values"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}

	code, out, _ = run(t, "inspect", strconv.Itoa(pid), "--profile", more, "--program=false", "-o", "json")
	if code != 1 {
		t.Fatalf("inspect against a profile that denies one more syscall: exit %d, want 1\n%s", code, out)
	}
	var res inspectResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	c := res.Comparison
	if res.Equal == nil || *res.Equal || c.DifferenceCount != 3 {
		t.Fatalf("%d differences, want rmdir on x86_64, x86 and x32:\n%s", c.DifferenceCount, strings.Join(res.DifferenceText, "\n"))
	}
	for _, l := range res.DifferenceText {
		if !strings.Contains(l, " rmdir (nr ") || !strings.HasSuffix(l, "kernel SCMP_ACT_ALLOW, profile SCMP_ACT_ERRNO(1)") {
			t.Errorf("difference %q", l)
		}
	}
}

// The predefined webapp, as seccompctl run loads it (five architectures
// listed, three of this host's family), is proven equal to itself.
func TestInspectWebapp(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("PTRACE_SECCOMP_GET_FILTER needs CAP_SYS_ADMIN")
	}
	pid, stop := runUnder(t, "webapp")
	defer stop()
	code, out, errOut := run(t, "inspect", strconv.Itoa(pid), "--profile", "webapp", "--program=false")
	if code != 0 || !strings.Contains(out, "PROVEN EQUAL") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, _ = run(t, "inspect", strconv.Itoa(pid), "--profile", "database", "--program=false")
	if code != 1 || !strings.Contains(out, "DIFFERENT") {
		t.Errorf("webapp's filter against database: exit %d\n%s", code, out)
	}
}
