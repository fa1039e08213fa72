//go:build proof

// Package profiles proves the predefined profiles on real software: servers
// from Debian's packages run their own load generators under
// `seccompctl run --profile P`, first in complain mode (every would-be denial
// is reported, none may occur), then enforced by the kernel. Run as root with
// `make test-profiles` (which builds bin/seccompctl first).
//
// With PROVE_STRACE_DIR set, the workloads run under `strace -f -c` instead
// of seccompctl and leave one syscall summary per program in that directory;
// hack/prove-syscall-list.sh turns them into bench/testdata/workload-syscalls.txt.
package profiles

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// mode is how a workload's server runs.
type mode string

const (
	complain mode = "complain" // profile in complain mode: denials reported, not enforced
	enforce  mode = "enforce"  // profile enforced by the kernel
	traced   mode = "strace"   // no profile, under strace -f -c (syscall census)
	recorded mode = "record"   // no profile, under seccompctl record (the recording proof)
	plain    mode = "plain"    // no wrapper at all (the recording proof's throughput baseline)
)

// workload says how one run of a workload's programs is wrapped.
type workload struct {
	m mode
	// profile is the predefined profile the programs run under and are
	// checked against.
	profile string
	// files, for the recording proof, names each program's profile file
	// (initdb and postgres have their own) instead of profile.
	files func(program string) string
	// keep, for the recording proof, is where the reports go (for a
	// record run: the recorded profiles); the caller reads them, so
	// check does nothing.
	keep string
}

func (w workload) profileOf(program string) string {
	if w.files != nil {
		return w.files(program)
	}
	return w.profile
}

// report is where program's report (or strace summary, or recorded
// profile) goes.
func (w workload) report(t *testing.T, dir, program string) string {
	if w.keep == "" {
		return reportFile(t, w.m, dir, program)
	}
	ext := ".json"
	if w.m == traced {
		ext = ".strace"
	}
	return filepath.Join(w.keep, program+"."+string(w.m)+ext)
}

// check asserts on program's report, unless the caller reads it.
func (w workload) check(t *testing.T, program, path string, exit0 bool) {
	t.Helper()
	if w.keep == "" {
		checkReport(t, w.m, w.profile, path, program, exit0)
	}
}

// modes returns the runs each workload test makes.
func modes() []mode {
	if os.Getenv("PROVE_STRACE_DIR") != "" {
		return []mode{traced}
	}
	return []mode{complain, enforce}
}

var (
	rootOnce sync.Once
	repoRoot string
)

func root(t *testing.T) string {
	rootOnce.Do(func() {
		dir, _ := os.Getwd()
		for dir != "/" {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				repoRoot = dir
				return
			}
			dir = filepath.Dir(dir)
		}
	})
	if repoRoot == "" {
		t.Fatal("cannot find the repository root (go.mod) above the working directory")
	}
	return repoRoot
}

// requireRoot fails (never skips) without root: the servers drop privileges
// from root as Debian configures them.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("the profile proofs run servers as their Debian users and need root: run `sudo make test-profiles`")
	}
}

// need returns the path of a program, failing with the Debian package that
// provides it when it is missing. The tests install nothing themselves.
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	if filepath.IsAbs(prog) {
		if _, err := os.Stat(prog); err != nil {
			t.Fatalf("%s is missing: install the Debian package %s (make deps)", prog, pkg)
		}
		return prog
	}
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s is missing: install the Debian package %s (make deps)", prog, pkg)
	}
	return p
}

// seccompctl is bin/seccompctl, or $SECCOMPCTL to prove another build (an
// installed package, say).
func seccompctl(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SECCOMPCTL")
	if p == "" {
		p = filepath.Join(root(t), "bin", "seccompctl")
	}
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing: run `make build` (make test-profiles does)", p)
	}
	return p
}

// workDir makes a temp directory the servers' users can reach, owned by owner
// (empty: root).
func workDir(t *testing.T, owner string) string {
	t.Helper()
	d, err := os.MkdirTemp("", "prove-"+strings.ReplaceAll(t.Name(), "/", "-")+"-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	if err := os.Chmod(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if owner != "" {
		chown(t, d, owner)
	}
	return d
}

func chown(t *testing.T, path, owner string) {
	t.Helper()
	u, err := user.Lookup(owner)
	if err != nil {
		t.Fatalf("user %s: %v (it comes with the server's Debian package)", owner, err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// confine wraps argv for mode m with profile name, as user (empty: root).
// The report (or strace summary) goes to reportPath, which must be writable
// by user.
func confine(t *testing.T, m mode, profile, user, reportPath string, argv ...string) []string {
	t.Helper()
	var out []string
	if user != "" {
		// runuser first, so that seccompctl itself runs as the server's user
		// and the filter needs no privilege (no_new_privs).
		out = append(out, need(t, "runuser", "util-linux"), "-u", user, "--")
	}
	switch m {
	case complain:
		out = append(out, seccompctl(t), "run", "--profile", profile, "--complain", "--report", reportPath, "--")
	case enforce:
		out = append(out, seccompctl(t), "run", "--profile", profile, "--report", reportPath, "--")
	case traced:
		out = append(out, need(t, "strace", "strace"), "-f", "-qq", "-c", "-o", reportPath, "--")
	case recorded:
		out = append(out, seccompctl(t), "record", "-o", reportPath, "--")
	case plain:
	}
	return append(out, argv...)
}

// reportFile returns where a run's report goes: in PROVE_STRACE_DIR for
// strace runs (kept for the census), else in dir.
func reportFile(t *testing.T, m mode, dir, name string) string {
	if m == traced {
		d := os.Getenv("PROVE_STRACE_DIR")
		if err := os.MkdirAll(d, 0o1777); err != nil {
			t.Fatal(err)
		}
		os.Chmod(d, 0o1777) // servers' users write their summaries there
		return filepath.Join(d, name+".strace")
	}
	return filepath.Join(dir, name+"."+string(m)+".json")
}

// Report is seccompctl run --report's output.
type Report struct {
	Denied []struct {
		Syscall string `json:"syscall"`
		Arch    string `json:"arch"`
		Nr      int    `json:"nr"`
		Count   int    `json:"count"`
	} `json:"denied"`
	ExitCode int `json:"exitCode"`
}

func readReport(t *testing.T, path string) Report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("seccompctl report: %v", err)
	}
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("seccompctl report %s: %v\n%s", path, err, data)
	}
	return r
}

// checkReport asserts a program made no syscall its profile denies (and,
// with exit0, that seccompctl reports it exited 0). For strace runs it checks
// the syscalls strace saw against the profile with the reference evaluator.
func checkReport(t *testing.T, m mode, profileName, path, what string, exit0 bool) {
	t.Helper()
	if m == traced {
		checkCensus(t, profileName, path, what)
		return
	}
	r := readReport(t, path)
	if exit0 && r.ExitCode != 0 {
		t.Errorf("%s (%s): exit code %d in the seccompctl report, want 0", what, m, r.ExitCode)
	}
	if len(r.Denied) != 0 {
		var b strings.Builder
		for _, d := range r.Denied {
			fmt.Fprintf(&b, "  %s (%s nr %d) x%d\n", d.Syscall, d.Arch, d.Nr, d.Count)
		}
		t.Errorf("%s (%s): the profile denied (or would deny) %d syscalls:\n%s", what, m, len(r.Denied), b.String())
	}
}

// checkCensus asserts every syscall in an strace -c summary (x86_64 rows)
// is allowed by the named predefined profile.
func checkCensus(t *testing.T, profileName, path, what string) {
	t.Helper()
	p, ok := predefined.Get(profileName)
	if !ok {
		t.Fatalf("no predefined profile %q", profileName)
	}
	arch := syscalls.MustGet("x86_64")
	names := straceNames(t, path)
	for _, name := range names {
		nr, ok := arch.Lookup(name)
		if !ok {
			t.Errorf("%s: strace reports %q, unknown on x86_64", what, name)
			continue
		}
		if act, _, err := profile.Evaluate(p.Profile, arch, nr, [6]uint64{}); err != nil || act != profile.ActAllow {
			t.Errorf("%s makes %s, which profile %s gives %s (%v)", what, name, profileName, act, err)
		}
	}
	if len(names) == 0 {
		t.Errorf("%s: no syscalls in the strace summary %s", what, path)
	}
}

// straceNames returns the syscall names of an strace -c summary's first
// (native ABI) table.
func straceNames(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("strace summary: %v", err)
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if strings.Contains(line, "summary for") {
			break // another ABI's table follows
		}
		f := strings.Fields(line)
		if len(f) < 5 || f[len(f)-1] == "total" {
			continue
		}
		if _, err := strconv.ParseFloat(f[0], 64); err != nil {
			continue
		}
		names = append(names, f[len(f)-1])
	}
	return names
}

// server is a long-running confined process.
type server struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func startServer(t *testing.T, name, logPath string, argv []string) *server {
	t.Helper()
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	// Own process group, so cleanup after a failure reaches every process
	// this test started and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t.Logf("start %s: %s", name, strings.Join(argv, " "))
	if err := cmd.Start(); err != nil {
		f.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	s := &server{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() { s.err = cmd.Wait(); f.Close(); close(s.done) }()
	t.Cleanup(func() {
		select {
		case <-s.done:
		default:
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-s.done
		}
	})
	return s
}

func (s *server) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// wait waits for the server to exit and returns its error.
func (s *server) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %s\n%s", s.name, timeout, tail(s.log))
		return nil
	}
}

// waitTCP waits until addr accepts connections, failing early if the server
// exits.
func (s *server) waitTCP(t *testing.T, addr string) {
	t.Helper()
	s.waitFor(t, "listening on "+addr, func() bool {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

func (s *server) waitFor(t *testing.T, what string, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !ready() {
		if s.exited() {
			t.Fatalf("%s exited before %s: %v\n%s", s.name, what, s.err, tail(s.log))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not %s after 60s\n%s", s.name, what, tail(s.log))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// run runs a client command to completion and returns its output.
func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 4000 {
		data = data[len(data)-4000:]
	}
	return string(data)
}

// findProcess returns the pid of the process whose comm is comm and whose
// command line contains arg (the server, not the runuser or seccompctl
// around it).
func findProcess(t *testing.T, comm, arg string) int {
	t.Helper()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		c, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
		if strings.TrimSpace(string(c)) != comm {
			continue
		}
		cl, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if bytes.Contains(cl, []byte(arg)) {
			return pid
		}
	}
	t.Fatalf("no %s process with %q in its command line", comm, arg)
	return 0
}

// grepLines returns the lines of path containing any of words.
func grepLines(path string, words ...string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		for _, w := range words {
			if strings.Contains(sc.Text(), w) {
				out = append(out, sc.Text())
				break
			}
		}
	}
	return out
}
