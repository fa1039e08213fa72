//go:build linux && amd64

package bpfrec

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// childEnv makes the test binary a child: "known" waits for a line on
// stdin (so the parent can read its mount namespace first), then makes
// knownSyscalls and exits; "spin" is the benchmark's timing child.
const childEnv = "BPFREC_TEST_CHILD"

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		if err := child(mode); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// knownSyscalls are made by the "known" child with RawSyscall, after it
// read its go-ahead: each must be in its namespace's x86_64 set.
var knownSyscalls = []struct {
	name string
	nr   uintptr
}{
	{"getppid", unix.SYS_GETPPID},
	{"sysinfo", unix.SYS_SYSINFO},
	{"times", unix.SYS_TIMES},
	{"getpriority", unix.SYS_GETPRIORITY},
	{"sched_yield", unix.SYS_SCHED_YIELD},
	{"getcpu", unix.SYS_GETCPU},
	{"personality", unix.SYS_PERSONALITY},
}

// x32Getppid is x32's getppid: x32 shares x86_64's numbers for it, with
// the x32 bit set. This kernel has no x32 ABI, so the call fails with
// ENOSYS, but the tracepoint sees it as an x32 task's call would be seen.
const x32Getppid = syscalls.X32SyscallBit | unix.SYS_GETPPID

func child(mode string) error {
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		return fmt.Errorf("child: waiting for the go-ahead: %w", err)
	}
	switch mode {
	case "known":
		var buf [256]byte
		p := uintptr(0)
		for _, k := range knownSyscalls {
			a0 := uintptr(0)
			switch k.nr {
			case unix.SYS_SYSINFO, unix.SYS_TIMES:
				a0 = uintptr(unsafe.Pointer(&buf))
			case unix.SYS_PERSONALITY:
				a0 = 0xffffffff
			case unix.SYS_GETCPU:
				a0, p = 0, 0
			}
			unix.RawSyscall(k.nr, a0, p, 0)
		}
		if _, _, e := unix.RawSyscall(x32Getppid, 0, 0, 0); e != unix.ENOSYS && e != 0 {
			return fmt.Errorf("x32 getppid: %v", e)
		}
	case "spin":
		return spin()
	case "filtered":
		// getpriority before a filter, sysinfo and times under one (an
		// allow-all filter on this locked thread only).
		runtime.LockOSThread()
		unix.RawSyscall(unix.SYS_GETPRIORITY, 0, 0, 0)
		allowAll := []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
		if _, err := filter.Install(allowAll, 0); err != nil {
			return err
		}
		var buf [256]byte
		unix.RawSyscall(unix.SYS_SYSINFO, uintptr(unsafe.Pointer(&buf)), 0, 0)
		unix.RawSyscall(unix.SYS_TIMES, uintptr(unsafe.Pointer(&buf)), 0, 0)
	case "runtime":
		// As runc's init would, then as the workload: on this locked
		// thread only, whose comm prctl(PR_SET_NAME) sets.
		runtime.LockOSThread()
		var buf [256]byte
		name := func(n string) error {
			b := append([]byte(n), 0)
			if _, _, e := unix.RawSyscall(unix.SYS_PRCTL, unix.PR_SET_NAME, uintptr(unsafe.Pointer(&b[0])), 0); e != 0 {
				return fmt.Errorf("PR_SET_NAME %s: %v", n, e)
			}
			return nil
		}
		// A name like the runtime's, not it: not the runtime's init.
		if err := name("runc"); err != nil {
			return err
		}
		unix.RawSyscall(unix.SYS_GETCPU, 0, 0, 0)
		if err := name("runc:[2:INIT]"); err != nil {
			return err
		}
		unix.RawSyscall(unix.SYS_GETPRIORITY, 0, 0, 0)
		unix.RawSyscall(unix.SYS_SYSINFO, uintptr(unsafe.Pointer(&buf)), 0, 0)
		if err := name("workload"); err != nil {
			return err
		}
		unix.RawSyscall(unix.SYS_SYSINFO, uintptr(unsafe.Pointer(&buf)), 0, 0)
		// Under a filter the runtime's name does not count: such calls
		// are the filter's to meet.
		if err := name("runc:[2:INIT]"); err != nil {
			return err
		}
		allowAll := []bpf.RawInstruction{{Op: unix.BPF_RET | unix.BPF_K, K: unix.SECCOMP_RET_ALLOW}}
		if _, err := filter.Install(allowAll, 0); err != nil {
			return err
		}
		unix.RawSyscall(unix.SYS_TIMES, uintptr(unsafe.Pointer(&buf)), 0, 0)
	}
	return nil
}

func requireKernel(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the eBPF recorder needs root (CAP_BPF, CAP_PERFMON): run as root")
	}
	if _, err := os.Stat(btfPath); err != nil {
		t.Skipf("no kernel BTF (%v): the recorder needs CONFIG_DEBUG_INFO_BTF", err)
	}
}

func open(t testing.TB, opts Options) *Recorder {
	t.Helper()
	r, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// started is a child in its own mount namespace, stopped before its work.
type started struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
	ns    uint64
}

// start runs argv (argv[0] "" = this test binary as a child of mode) in a
// new mount namespace and returns it waiting on stdin.
func start(t testing.TB, mode string, argv ...string) *started {
	t.Helper()
	return startIn(t, true, mode, argv...)
}

// startIn is start, in a new mount namespace or (newNS false) in this
// process's.
func startIn(t testing.TB, newNS bool, mode string, argv ...string) *started {
	t.Helper()
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		argv = []string{exe, "-test.run=^$"}
	}
	s := &started{cmd: exec.Command(argv[0], argv[1:]...)}
	s.cmd.Env = append(os.Environ(), childEnv+"="+mode)
	if newNS {
		s.cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNS}
	}
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	var err error
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if s.ns, err = MountNamespace(s.cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return s
}

// finish lets the child go and waits for it.
func (s *started) finish(t testing.TB) {
	t.Helper()
	fmt.Fprintln(s.stdin)
	s.stdin.Close()
	if err := s.cmd.Wait(); err != nil {
		t.Fatalf("%v: %v\n%s", s.cmd.Args, err, s.out.String())
	}
}

// run starts and finishes a child and returns its mount namespace.
func run(t testing.TB, mode string, argv ...string) uint64 {
	t.Helper()
	s := start(t, mode, argv...)
	s.finish(t)
	return s.ns
}

func entry(t testing.TB, r *Recorder, ns uint64) (Entry, bool) {
	t.Helper()
	es, err := r.Entries()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.MountNS == ns {
			return e, true
		}
	}
	return Entry{}, false
}

func hostNS(t testing.TB) uint64 {
	t.Helper()
	ns, err := MountNamespace(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// straceCounts parses `strace -c` output into the syscalls it counted per
// ABI (its sections: 64-bit, "32 bit mode", "x32 mode").
func straceCounts(t testing.TB, out string) map[string][]string {
	t.Helper()
	abi := "x86_64"
	got := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		switch {
		case strings.Contains(line, "for 32 bit mode"):
			abi = "x86"
			continue
		case strings.Contains(line, "for x32 mode"):
			abi = "x32"
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 || strings.HasPrefix(line, "%") || strings.HasPrefix(line, "-") || f[len(f)-1] == "total" {
			continue
		}
		got[abi] = append(got[abi], f[len(f)-1])
	}
	return got
}

// underStrace runs a child under `strace -f -c` in a new mount namespace
// (strace's own syscalls are in it too: the recording is a superset) and
// returns the namespace and what strace counted.
func underStrace(t *testing.T, mode string, argv ...string) (uint64, map[string][]string) {
	t.Helper()
	strace, err := exec.LookPath("strace")
	if err != nil {
		t.Skip("strace, the ground truth, is not installed (hack/install-deps.sh)")
	}
	out := filepath.Join(t.TempDir(), "strace.txt")
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		argv = []string{exe, "-test.run=^$"}
	}
	ns := run(t, mode, append([]string{strace, "-f", "-qq", "-c", "-o", out, "--"}, argv...)...)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return ns, straceCounts(t, string(b))
}

// missed lists what strace counted that the recording lacks, per ABI.
func missed(e Entry, truth map[string][]string) []string {
	var out []string
	for abi, names := range truth {
		have := e.Syscalls.NamesOf(abi)
		for _, n := range names {
			if !slices.Contains(have, n) {
				out = append(out, abi+":"+n)
			}
		}
	}
	return out
}

func TestRecordsEverySyscallStraceSees(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	ns, truth := underStrace(t, "known")
	e, ok := entry(t, r, ns)
	if !ok {
		t.Fatalf("nothing recorded for the child's mount namespace %d", ns)
	}
	if m := missed(e, truth); len(m) > 0 {
		t.Errorf("missed %d syscalls strace saw: %v", len(m), m)
	}
	for _, k := range knownSyscalls {
		if !slices.Contains(e.Syscalls.NamesOf("x86_64"), k.name) {
			t.Errorf("%s (made by the child) not recorded on x86_64: %v", k.name, e.Syscalls.NamesOf("x86_64"))
		}
	}
	if e.Pid <= 0 {
		t.Errorf("entry pid %d", e.Pid)
	}
	if u := e.Syscalls.Unnamed(); len(u) > 0 {
		t.Errorf("unnamed numbers recorded: %v", u)
	}
	t.Logf("strace saw %d x86_64 syscalls, the recorder %d (all of strace's)", len(truth["x86_64"]), len(e.Syscalls.NamesOf("x86_64")))
}

func TestRecordsX32WithItsOwnTable(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	e, ok := entry(t, r, run(t, "known"))
	if !ok {
		t.Fatal("child not recorded")
	}
	if got := e.Syscalls.NamesOf("x32"); !slices.Equal(got, []string{"getppid"}) {
		t.Errorf("x32 syscalls %v, want [getppid]", got)
	}
}

func TestRecords386ChildWithI386Table(t *testing.T) {
	requireKernel(t)
	bin := filepath.Join(t.TempDir(), "child386")
	build := exec.Command("go", "build", "-o", bin, "./testdata/child386")
	build.Env = append(os.Environ(), "GOARCH=386", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the 32-bit child: %v\n%s", err, out)
	}
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	ns, truth := underStrace(t, "", bin)
	if len(truth["x86"]) == 0 {
		t.Fatalf("strace saw no 32-bit syscalls: %v", truth)
	}
	e, ok := entry(t, r, ns)
	if !ok {
		t.Fatal("32-bit child not recorded")
	}
	if m := missed(e, truth); len(m) > 0 {
		t.Errorf("missed %d syscalls strace saw: %v", len(m), m)
	}
	x86 := e.Syscalls.NamesOf("x86")
	for _, want := range []string{"mmap2", "set_thread_area", "uname", "getppid"} {
		if !slices.Contains(x86, want) {
			t.Errorf("%s not recorded on x86: %v", want, x86)
		}
	}
	// Read with x86_64's table, the child's uname (i386 122) would be
	// setfsuid and its mmap2 (192) lgetxattr.
	for _, wrong := range []string{"setfsuid", "lgetxattr"} {
		if e.Syscalls.Has(wrong) {
			t.Errorf("%s recorded: a 32-bit number named with the 64-bit table", wrong)
		}
	}
}

func TestDetachStopsRecording(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	for i := 0; i < 2; i++ { // idempotent
		if err := r.Attach(); err != nil {
			t.Fatal(err)
		}
	}
	if !r.Attached() {
		t.Fatal("not attached after Attach")
	}
	before := run(t, "known")
	if _, ok := entry(t, r, before); !ok {
		t.Fatal("not recorded while attached")
	}
	// Mount namespace inodes are reused once freed: forget the first
	// child's so that the second, which may get the same inode, is judged
	// on its own.
	if err := r.Delete(before); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := r.Detach(); err != nil {
			t.Fatal(err)
		}
	}
	if r.Attached() {
		t.Fatal("attached after Detach")
	}
	after := run(t, "known")
	if _, ok := entry(t, r, after); ok {
		t.Error("a namespace was recorded after Detach")
	}
}

func TestPidInMountNS(t *testing.T) {
	requireKernel(t)
	s := start(t, "known")
	defer s.finish(t)
	if pid, ok := PidInMountNS(s.ns); !ok || pid != s.cmd.Process.Pid {
		t.Errorf("PidInMountNS(%d) = %d, %t; want the child %d", s.ns, pid, ok, s.cmd.Process.Pid)
	}
}

func TestExcludedNamespaceIsNotRecorded(t *testing.T) {
	requireKernel(t)
	host := hostNS(t)
	r := open(t, Options{ExcludeMountNS: host})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	child := run(t, "known")
	if _, ok := entry(t, r, host); ok {
		t.Error("the excluded namespace was recorded")
	}
	if _, ok := entry(t, r, child); !ok {
		t.Error("the child's namespace was not recorded")
	}
}

func TestLostCountsNamespacesWithoutRoom(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{MaxNamespaces: 1, ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	// Both alive at once: a freed namespace's inode can be reused.
	sa, sb := start(t, "known"), start(t, "known")
	sa.finish(t)
	sb.finish(t)
	a, b := sa.ns, sb.ns
	if err := r.Detach(); err != nil {
		t.Fatal(err)
	}
	lost, err := r.Lost()
	if err != nil {
		t.Fatal(err)
	}
	dropped, err := r.LostNamespaces()
	if err != nil {
		t.Fatal(err)
	}
	// One entry for (at least) two namespaces: at least one child's was
	// refused, and each child is either recorded or listed as lost.
	if lost < 1 {
		t.Errorf("Lost() = %d with 1 entry and 2 namespaces", lost)
	}
	if uint64(len(dropped)) > lost {
		t.Errorf("%d namespaces listed lost, Lost() = %d", len(dropped), lost)
	}
	refused := 0
	for _, ns := range []uint64{a, b} {
		_, rec := entry(t, r, ns)
		lostNS := slices.Contains(dropped, ns)
		if rec == lostNS {
			t.Errorf("namespace %d: recorded %t, listed lost %t", ns, rec, lostNS)
		}
		if lostNS {
			refused++
		}
	}
	if refused == 0 {
		t.Error("neither child was refused with room for one namespace")
	}
	// Delete makes room and forgets the refusal.
	es, _ := r.Entries()
	for _, e := range es {
		if err := r.Delete(e.MountNS); err != nil {
			t.Fatal(err)
		}
	}
	for _, ns := range dropped {
		if err := r.Delete(ns); err != nil {
			t.Fatal(err)
		}
	}
	if es, _ := r.Entries(); len(es) != 0 {
		t.Errorf("%d entries after deleting all", len(es))
	}
	if d, _ := r.LostNamespaces(); len(d) != 0 {
		t.Errorf("%d lost namespaces after deleting them", len(d))
	}
}

// bpffs mounts a fresh bpffs (private to this test) and returns it.
func bpffs(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := unix.Mount("bpf", dir, "bpf", 0, ""); err != nil {
		t.Skipf("mounting a bpffs: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(dir, unix.MNT_DETACH) })
	return filepath.Join(dir, "seccomp-operator")
}

func TestPinnedRecorderSurvivesReopen(t *testing.T) {
	requireKernel(t)
	pin := bpffs(t)
	opts := Options{PinPath: pin, ExcludeMountNS: hostNS(t)}
	r1, err := Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r1.Attach(); err != nil {
		t.Fatal(err)
	}
	first := run(t, "known")
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	// Between the two agents, the program must still be recording.
	between := run(t, "known")

	r2 := open(t, opts)
	if !r2.Attached() {
		t.Error("the reopened recorder is not attached")
	}
	for _, ns := range []uint64{first, between} {
		if _, ok := entry(t, r2, ns); !ok {
			t.Errorf("namespace %d not in the reopened recorder", ns)
		}
	}
	if err := r2.Delete(first); err != nil {
		t.Fatal(err)
	}
	if _, ok := entry(t, r2, first); ok {
		t.Error("Delete left the entry")
	}
	if err := r2.Detach(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(pin, linkName)); !os.IsNotExist(err) {
		t.Errorf("pinned link after Detach: %v", err)
	}
	if err := r2.Unpin(); err != nil {
		t.Fatal(err)
	}
	left, _ := os.ReadDir(pin)
	if len(left) != 0 {
		t.Errorf("left pinned after Unpin: %v", left)
	}
	// A different size than the pinned map is refused with a clear error.
	r3 := open(t, opts)
	r3.Close()
	_, err = Open(Options{PinPath: pin, MaxNamespaces: 8})
	if err == nil || !strings.Contains(err.Error(), "MaxNamespaces") {
		t.Errorf("reopening with another size: %v", err)
	}
	// With ReplaceIncompatible (another agent version's layout) the old
	// objects go, the new ones are pinned, and the recorder records.
	r3 = open(t, opts)
	if err := r3.Attach(); err != nil {
		t.Fatal(err)
	}
	r3.Close()
	r4 := open(t, Options{PinPath: pin, MaxNamespaces: 8, ExcludeMountNS: hostNS(t), ReplaceIncompatible: true})
	if !r4.Replaced() || r4.Attached() {
		t.Errorf("replaced %v, attached %v: want the old objects (and their attached link) replaced", r4.Replaced(), r4.Attached())
	}
	if err := r4.Attach(); err != nil {
		t.Fatal(err)
	}
	if _, ok := entry(t, r4, run(t, "known")); !ok {
		t.Error("the replacing recorder records nothing")
	}
	r4.Detach()
	r4.Unpin()
	os.RemoveAll(pin)
}

func TestPinPathMustBeOnBPFFS(t *testing.T) {
	requireKernel(t)
	dir := filepath.Join(t.TempDir(), "x")
	_, err := Open(Options{PinPath: dir})
	if err == nil || !strings.Contains(err.Error(), "bpffs") {
		t.Fatalf("Open on tmpfs: %v", err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the refused PinPath was created")
	}
}

func TestMapBytes(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{})
	if b := r.MapBytes(); b < DefaultMaxNamespaces*int(r.objs.Recs.ValueSize()) {
		t.Errorf("MapBytes %d below the preallocated values", b)
	}
	t.Logf("MapBytes with %d namespaces: %d", DefaultMaxNamespaces, r.MapBytes())
}

// A freed namespace's inode is reused: two containers one after the other
// can share it, and must not share an entry (the dead one's syscalls would
// be allowed to the new one).
func TestReusedInodeGetsItsOwnEntry(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	prev := run(t, "known")
	for try := 0; try < 20; try++ {
		ns := run(t, "known")
		if ns != prev {
			prev = ns
			continue
		}
		es, err := r.Entries()
		if err != nil {
			t.Fatal(err)
		}
		ids := map[uint64]bool{}
		for _, e := range es {
			if e.MountNS == ns {
				ids[e.ID] = true
				if e.ID == e.MountNS {
					t.Errorf("entry keyed by the inode %d, not the namespace's id", ns)
				}
			}
		}
		if len(ids) < 2 {
			t.Fatalf("two namespaces with inode %d share %d entries", ns, len(ids))
		}
		if err := r.Delete(ns); err != nil {
			t.Fatal(err)
		}
		if _, ok := entry(t, r, ns); ok {
			t.Error("Delete left an entry of the inode")
		}
		return
	}
	t.Skip("the kernel reused no namespace inode in 20 tries")
}

// TestFilteredSetHoldsOnlyCallsUnderAFilter: what a task does before it
// loads a seccomp filter (a runtime's set-up) is in Syscalls only; what it
// does under the filter is in Filtered too.
func TestFilteredSetHoldsOnlyCallsUnderAFilter(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	e, ok := entry(t, r, run(t, "filtered"))
	if !ok {
		t.Fatal("child not recorded")
	}
	all, filtered := e.Syscalls.NamesOf("x86_64"), e.Filtered.NamesOf("x86_64")
	for _, n := range []string{"getpriority", "sysinfo", "times", "seccomp"} {
		if !slices.Contains(all, n) {
			t.Errorf("%s not in Syscalls: %v", n, all)
		}
	}
	for _, n := range []string{"sysinfo", "times"} {
		if !slices.Contains(filtered, n) {
			t.Errorf("%s (under the filter) not in Filtered: %v", n, filtered)
		}
	}
	for _, n := range []string{"getpriority", "seccomp"} {
		if slices.Contains(filtered, n) {
			t.Errorf("%s (before the filter) in Filtered: %v", n, filtered)
		}
	}
}

// TestRuntimeSetHoldsOnlyTheRuntimesInitsOwnCalls: what a task named like
// runc's init ("runc:[2:INIT]") does without a filter, and nothing else of
// the namespace does, is in Runtime; a call the workload makes too, a call
// under a filter, and a call of a task merely named "runc" are not.
func TestRuntimeSetHoldsOnlyTheRuntimesInitsOwnCalls(t *testing.T) {
	requireKernel(t)
	r := open(t, Options{ExcludeMountNS: hostNS(t)})
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	e, ok := entry(t, r, run(t, "runtime"))
	if !ok {
		t.Fatal("child not recorded")
	}
	all, rt, filtered := e.Syscalls.NamesOf("x86_64"), e.Runtime.NamesOf("x86_64"), e.Filtered.NamesOf("x86_64")
	for _, n := range []string{"getcpu", "getpriority", "sysinfo", "times", "seccomp"} {
		if !slices.Contains(all, n) {
			t.Errorf("%s not in Syscalls: %v", n, all)
		}
	}
	if !slices.Contains(rt, "getpriority") {
		t.Errorf("getpriority (the runtime's init's only) not in Runtime: %v", rt)
	}
	for _, n := range []string{"getcpu", "sysinfo", "times"} {
		if slices.Contains(rt, n) {
			t.Errorf("%s in Runtime: %v", n, rt)
		}
	}
	if !slices.Contains(filtered, "times") {
		t.Errorf("times (under the filter) not in Filtered: %v", filtered)
	}
}

// TestReplacesPinnedRecsOfAnOlderLayout: a recs map pinned by an agent
// whose values held fewer bitmap sets (before the runtime's set) cannot
// be read with this layout: Open refuses it, and with ReplaceIncompatible
// replaces it and records.
func TestReplacesPinnedRecsOfAnOlderLayout(t *testing.T) {
	requireKernel(t)
	pin := bpffs(t)
	if err := os.MkdirAll(pin, 0o700); err != nil {
		t.Fatal(err)
	}
	spec, err := loadRecorder()
	if err != nil {
		t.Fatal(err)
	}
	old := spec.Maps[recorderMapRecs].Copy()
	old.MaxEntries = DefaultMaxNamespaces
	old.ValueSize = 16 + (nrSets-1)*setWords*8
	old.Pinning = ebpf.PinNone
	m, err := ebpf.NewMap(old)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Pin(filepath.Join(pin, recorderMapRecs)); err != nil {
		t.Fatal(err)
	}
	opts := Options{PinPath: pin, ExcludeMountNS: hostNS(t)}
	if r, err := Open(opts); err == nil {
		r.Close()
		t.Fatal("Open reused a recs map of another value size")
	}
	opts.ReplaceIncompatible = true
	r := open(t, opts)
	if !r.Replaced() {
		t.Error("Replaced() false after replacing the old layout")
	}
	if got := r.objs.Recs.ValueSize(); got == old.ValueSize {
		t.Errorf("recs value size %d: still the old layout", got)
	}
	if err := r.Attach(); err != nil {
		t.Fatal(err)
	}
	if _, ok := entry(t, r, run(t, "known")); !ok {
		t.Error("the replacing recorder records nothing")
	}
	r.Detach()
	r.Unpin()
}
