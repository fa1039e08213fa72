package filter

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Go cannot run code between fork and exec, so a command is started under a
// filter by re-executing our own binary with childMarker as argv[1]: that
// child (MaybeRunChild) reads the program from fd 3, installs it on its
// locked thread and execs the command. In notify mode it first waits on fd 4
// until the parent has taken the listener, so that no notification can block
// with nobody to answer it.
const (
	childMarker = "__seccomp_exec"
	childEnv    = "SECCOMP_OPERATOR_EXEC"
	progFd      = 3
	syncFd      = 4
)

// MaybeRunChild must be called first thing in main (and in TestMain of tests
// that use Run). In the re-executed child it never returns; otherwise it does
// nothing.
func MaybeRunChild() {
	if len(os.Args) < 3 || os.Args[1] != childMarker || os.Getenv(childEnv) != "1" {
		return
	}
	runtime.LockOSThread()
	err := runChild(os.Args[2:])
	fmt.Fprintf(os.Stderr, "seccompctl: %v\n", err)
	var ee *exec.Error
	if errors.As(err, &ee) {
		os.Exit(127)
	}
	os.Exit(126)
}

func runChild(argv []string) error {
	f := os.NewFile(progFd, "seccomp-program")
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("read program: %w", err)
	}
	flags, insns, err := decodeProgram(data)
	if err != nil {
		return err
	}
	// Resolve the command before the filter is in place: the lookup's own
	// syscalls are not the command's.
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return err
	}
	env := make([]string, 0, len(os.Environ()))
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, childEnv+"=") {
			env = append(env, e)
		}
	}
	listener, err := installForRun(insns, flags)
	if err != nil {
		return err
	}
	if listener >= 0 {
		var b [1]byte
		// Blocks until the parent holds a copy of the listener.
		if _, err := syscall.Read(syncFd, b[:]); err != nil {
			return fmt.Errorf("wait for supervisor: %w", err)
		}
		syscall.Close(syncFd)
	}
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", path, err)
	}
	return nil
}

// encodeProgram is the fd-3 wire format: flags (u32), then sock_filters in
// host order.
func encodeProgram(insns []bpf.RawInstruction, flags uint) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.NativeEndian, uint32(flags))
	for _, in := range insns {
		binary.Write(&b, binary.NativeEndian, struct {
			Op     uint16
			Jt, Jf uint8
			K      uint32
		}{in.Op, in.Jt, in.Jf, in.K})
	}
	return b.Bytes()
}

func decodeProgram(data []byte) (uint, []bpf.RawInstruction, error) {
	if len(data) < 4 || (len(data)-4)%8 != 0 {
		return 0, nil, fmt.Errorf("read program: %d bytes is not a program", len(data))
	}
	flags := uint(binary.NativeEndian.Uint32(data))
	var insns []bpf.RawInstruction
	for p := data[4:]; len(p) > 0; p = p[8:] {
		insns = append(insns, bpf.RawInstruction{
			Op: binary.NativeEndian.Uint16(p), Jt: p[2], Jf: p[3], K: binary.NativeEndian.Uint32(p[4:]),
		})
	}
	return flags, insns, nil
}

// RunOptions says how Run starts the command.
type RunOptions struct {
	// Notify supervises the filter's listener (the program must have been
	// compiled with USER_NOTIF verdicts and SECCOMP_FILTER_FLAG_NEW_LISTENER):
	// every notified syscall is recorded and let through.
	Notify bool
	// Record (with Notify, for a program whose every verdict is USER_NOTIF)
	// makes the supervisor a recorder: the Report lists every notified
	// syscall in Recorded, and the wrapper's own syscalls after its filter
	// is installed are counted too. Complain mode skips those as not the
	// command's, but `run` makes them as well (RunnerSyscalls), so a
	// profile recorded for `run` must allow them.
	Record bool
	// Resolve names a notified syscall from its arch and number.
	Resolve func(arch uint32, nr int32) (abi, name string)
	Stdin   io.Reader
	Stdout  io.Writer
	Stderr  io.Writer
}

// Denial is one syscall the filter would have denied, with how often.
type Denial struct {
	Syscall string `json:"syscall"`
	Arch    string `json:"arch"`
	Nr      int32  `json:"nr"`
	Count   int    `json:"count"`
}

// Call is one notified syscall as the kernel reported it (seccomp_data's
// AUDIT_ARCH and number: a 32-bit task's calls carry i386's), with how often.
type Call struct {
	Audit uint32 `json:"audit"`
	Nr    int32  `json:"nr"`
	Count int    `json:"count"`
}

// Report is the outcome of Run.
type Report struct {
	ExitCode int      `json:"exitCode"`
	Denied   []Denial `json:"denied"`
	// Recorded is every notified syscall, with RunOptions.Record.
	Recorded []Call `json:"recorded,omitempty"`
}

// Run starts argv under the program and waits for it. The exit code is the
// command's, or 128+N when a signal N killed it. SIGINT, SIGTERM, SIGHUP and
// SIGQUIT are forwarded to the command.
func Run(insns []bpf.RawInstruction, flags uint, argv []string, opts RunOptions) (*Report, error) {
	if len(argv) == 0 {
		return nil, errors.New("run: no command given")
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("run: find own binary: %w", err)
	}
	progR, progW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("run: %w", err)
	}
	defer progR.Close()
	syncR, syncW, err := os.Pipe()
	if err != nil {
		progW.Close()
		return nil, fmt.Errorf("run: %w", err)
	}
	defer syncR.Close()
	defer syncW.Close()

	cmd := exec.Command(self, append([]string{childMarker}, argv...)...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.ExtraFiles = []*os.File{progR, syncR}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.Stdin, opts.Stdout, opts.Stderr

	// Forward signals before starting so none is lost in between.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, ForwardedSignals...)
	defer signal.Stop(sigs)

	if err := cmd.Start(); err != nil {
		progW.Close()
		return nil, fmt.Errorf("run: start: %w", err)
	}
	// The program is at most 32 KiB: it fits in the pipe buffer.
	_, werr := progW.Write(encodeProgram(insns, flags))
	progW.Close()
	if werr != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("run: send program: %w", werr)
	}

	waited := make(chan error, 1)
	go func() { waited <- cmd.Wait() }()

	var sup *supervisor
	if opts.Notify {
		sup, err = attachSupervisor(cmd.Process.Pid, self, opts.Resolve, opts.Record)
		if err != nil {
			cmd.Process.Kill()
			<-waited
			return nil, err
		}
		if _, err := syncW.Write([]byte{1}); err != nil {
			cmd.Process.Kill()
			<-waited
			sup.stop()
			return nil, fmt.Errorf("run: release command: %w", err)
		}
	}
	werr2 := WaitForwarding(cmd, sigs, waited)
	rep := &Report{ExitCode: ExitCode(cmd.ProcessState), Denied: []Denial{}}
	if sup != nil {
		if opts.Record {
			rep.Recorded = sup.finishCalls()
		} else {
			rep.Denied = sup.finish()
		}
	}
	var ee *exec.ExitError
	if werr2 != nil && !errors.As(werr2, &ee) {
		return rep, fmt.Errorf("run: wait: %w", werr2)
	}
	return rep, nil
}

// ExitCode is a finished command's exit code as seccompctl reports it: its
// own, or 128+N when signal N killed it (a shell's convention).
func ExitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// installForRun installs the program. With a listener it also asks for
// SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV (Linux 5.19+): once the supervisor
// has received a notification, only a fatal signal can interrupt the wait.
// Without it a signal (Go's preemption SIGURG, a timer) landing as the
// answer arrives makes the kernel restart the syscall and notify it again,
// and the report would count one call twice. Older kernels reject the flag:
// then the filter is installed without it.
func installForRun(insns []bpf.RawInstruction, flags uint) (int, error) {
	if flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER == 0 {
		return Install(insns, flags)
	}
	fd, err := Install(insns, flags|unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV)
	if errors.Is(err, unix.EINVAL) {
		return Install(insns, flags)
	}
	return fd, err
}

// ForwardedSignals are the signals a command run by seccompctl gets when
// seccompctl gets them.
var ForwardedSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT}

// WaitForwarding forwards what arrives on sigs (registered for
// ForwardedSignals before the command started, so that none is lost in
// between) to cmd until waited delivers cmd.Wait's result, and returns it.
func WaitForwarding(cmd *exec.Cmd, sigs <-chan os.Signal, waited <-chan error) error {
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-waited:
			return err
		}
	}
}
