package bpf

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// childEnv makes the test binary act as the child of TestKernelAgrees:
// install the filter on its own thread, make the syscalls, print results.
// The test process itself never installs a filter.
const childEnv = "SECCOMP_BPF_KERNEL_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(kernelChild())
	}
	os.Exit(m.Run())
}

var notADir = []byte("/nonexistent-seccomp-test-dir/x\x00")

// kernelCall is one real syscall the child makes; natural is the errno it
// returns when the filter lets it through (harmless calls with known
// outcomes).
type kernelCall struct {
	name    string
	nr      uintptr
	args    [3]uintptr
	natural unix.Errno
}

func kernelCalls() []kernelCall {
	atFdcwd := unix.AT_FDCWD
	return []kernelCall{
		{"getppid", unix.SYS_GETPPID, [3]uintptr{}, 0},
		{"mkdirat", unix.SYS_MKDIRAT, [3]uintptr{uintptr(atFdcwd), uintptr(unsafe.Pointer(&notADir[0])), 0o700}, unix.ENOENT},
		{"personality-query", unix.SYS_PERSONALITY, [3]uintptr{0xffffffff}, 0},
		// The kernel truncates to unsigned int (a query again), the filter
		// compares all 64 bits: no match.
		{"personality-high", unix.SYS_PERSONALITY, [3]uintptr{1<<32 | 0xffffffff}, 0},
		{"dup3-high", unix.SYS_DUP3, [3]uintptr{1<<32 | 5, 1<<32 | 5, 0}, unix.EINVAL},
		{"dup3-low", unix.SYS_DUP3, [3]uintptr{5, 5, 0}, unix.EINVAL},
		{"fcntl-big", unix.SYS_FCNTL, [3]uintptr{^uintptr(0), 1 << 62, 0}, unix.EBADF},
		{"fcntl-getfd", unix.SYS_FCNTL, [3]uintptr{^uintptr(0), unix.F_GETFD, 0}, unix.EBADF},
		{"nosys", 1000, [3]uintptr{}, unix.ENOSYS},
	}
}

// kernelProfile allows by default (the Go runtime keeps working) and
// decides the test calls with distinct errnos.
func kernelProfile() *profile.Profile {
	return &profile.Profile{
		DefaultAction: profile.ActAllow,
		Syscalls: []profile.Syscall{
			{Names: []string{"mkdirat"}, Action: profile.ActErrno, ErrnoRet: uptr(95)},
			{Names: []string{"personality"}, Action: profile.ActErrno, ErrnoRet: uptr(77), Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 0xffffffff}}},
			{Names: []string{"dup3"}, Action: profile.ActErrno, ErrnoRet: uptr(78), Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 1<<32 | 5}}},
			{Names: []string{"fcntl"}, Action: profile.ActErrno, ErrnoRet: uptr(79), Args: []profile.Arg{{Index: 1, Op: profile.OpGreaterEqual, Value: 1 << 61}, {Index: 0, Op: profile.OpMaskedEqual, Value: 0xffff, ValueTwo: 0xffff}}},
			{Names: []string{"getppid"}, Action: profile.ActLog},
		},
	}
}

// kernelCases are the profiles the child can install, with the calls it
// makes under each.
var kernelCases = map[string]struct {
	profile func() *profile.Profile
	calls   func() []kernelCall
}{
	"rules":       {kernelProfile, kernelCalls},
	"docker-like": {dockerLikeDistinct, dockerLikeCalls},
}

// dockerLikeDistinct is the Docker-like profile (x86_64, x86, x32 sections,
// argument rules) with a default errno no syscall returns by itself here.
func dockerLikeDistinct() *profile.Profile {
	p := dockerLike()
	p.DefaultErrnoRet = uptr(77)
	if runtime.GOARCH == "arm64" {
		p.Architectures = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	}
	return p
}

func dockerLikeCalls() []kernelCall {
	return []kernelCall{
		{"getppid", unix.SYS_GETPPID, [3]uintptr{}, 0},
		{"ptrace", unix.SYS_PTRACE, [3]uintptr{^uintptr(0)}, unix.ESRCH},
		{"personality-query", unix.SYS_PERSONALITY, [3]uintptr{0xffffffff}, 0},
		{"personality-high", unix.SYS_PERSONALITY, [3]uintptr{1<<32 | 0xffffffff}, 0},
		{"clone3", unix.SYS_CLONE3, [3]uintptr{0, 0}, unix.EINVAL},
		{"socket-vsock", unix.SYS_SOCKET, [3]uintptr{40, 0x7fffffff, 0}, unix.EINVAL},
		{"socket-bad", unix.SYS_SOCKET, [3]uintptr{0xffff, 0, 0}, unix.EAFNOSUPPORT},
		{"fcntl-getfd", unix.SYS_FCNTL, [3]uintptr{^uintptr(0), unix.F_GETFD, 0}, unix.EBADF},
		{"nosys", 1000, [3]uintptr{}, unix.ENOSYS},
	}
}

func kernelChild() int {
	runtime.LockOSThread()
	kc, ok := kernelCases[os.Getenv(childEnv+"_CASE")]
	if !ok {
		fmt.Println("COMPILE-FAILED unknown case")
		return 1
	}
	prog, err := Compile(kc.profile(), Options{})
	if err != nil {
		fmt.Println("COMPILE-FAILED", err)
		return 1
	}
	if _, err := filter.Install(prog.Instructions, prog.Flags); err != nil {
		fmt.Println("INSTALL-FAILED", err)
		return 0
	}
	var out bytes.Buffer
	for _, c := range kc.calls() {
		_, _, errno := unix.RawSyscall(c.nr, c.args[0], c.args[1], c.args[2])
		fmt.Fprintf(&out, "%s %d\n", c.name, int(errno))
	}
	os.Stdout.Write(out.Bytes())
	return 0
}

// TestKernelAgrees installs compiled filters in child processes and checks
// that every errno the kernel produced is the one Simulate predicts.
func TestKernelAgrees(t *testing.T) {
	if runtime.GOARCH != "amd64" && runtime.GOARCH != "arm64" {
		t.Skipf("no syscall table wiring for %s in this test", runtime.GOARCH)
	}
	for name, kc := range kernelCases {
		t.Run(name, func(t *testing.T) {
			got, skip := runKernelChild(t, name)
			if skip != "" {
				t.Skip(skip)
			}
			prog := mustCompile(t, kc.profile(), Options{})
			for _, c := range kc.calls() {
				checkKernelCall(t, prog, c, got)
			}
		})
	}
}

// runKernelChild re-executes the test binary as a child that installs the
// case's filter and reports the errno of each call.
func runKernelChild(t *testing.T, name string) (map[string]unix.Errno, string) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childEnv+"_CASE="+name)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if strings.HasPrefix(string(out), "INSTALL-FAILED") {
		return nil, fmt.Sprintf("cannot install seccomp filters here: %s", out)
	}
	got := map[string]unix.Errno{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 {
			t.Fatalf("child output line %q", sc.Text())
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			t.Fatalf("child output line %q", sc.Text())
		}
		got[f[0]] = unix.Errno(n)
	}
	return got, ""
}

func checkKernelCall(t *testing.T, prog *Program, c kernelCall, got map[string]unix.Errno) {
	d := Data{Nr: int32(c.nr), Arch: prog.Native.Audit}
	for i, a := range c.args {
		d.Args[i] = uint64(a)
	}
	r, err := SimulateOrder(prog.Instructions, d, ByteOrder(prog.Native))
	if err != nil {
		t.Fatal(err)
	}
	want := c.natural
	if r.Ret&RetActionFull == RetErrno {
		want = unix.Errno(r.Ret & RetData)
	}
	g, ok := got[c.name]
	if !ok {
		t.Errorf("%s: child did not report it", c.name)
		return
	}
	if g != want {
		t.Errorf("%s: kernel gave errno %d (%v), simulator predicts %s → errno %d", c.name, int(g), g, RetString(r.Ret), int(want))
	}
}
