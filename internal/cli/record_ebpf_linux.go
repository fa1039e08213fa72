package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording/bpfrec"
)

func init() { ebpfRecorder = recordEBPF }

// recordEBPF records with the in-kernel recorder: the command is started in
// a mount namespace of its own (clone(CLONE_NEWNS), the same mounts and the
// same propagation as ours, so it sees and does what it would unrecorded),
// which the recorder's bitmaps are keyed by; its threads and descendants
// inherit it. No syscall waits for user space, so the command runs at
// nearly full speed; root (CAP_BPF, CAP_PERFMON) is needed.
func recordEBPF(cmd *cobra.Command, argv []string) (*recorded, error) {
	self, err := bpfrec.MountNamespace(os.Getpid())
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	rec, err := bpfrec.Open(bpfrec.Options{ExcludeMountNS: self})
	if err != nil {
		return nil, fmt.Errorf("record --recorder ebpf: %w", err)
	}
	defer rec.Close()
	if err := rec.Attach(); err != nil {
		return nil, fmt.Errorf("record --recorder ebpf: %w", err)
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	c := exec.Command(path, argv[1:]...)
	c.Args[0] = argv[0]
	c.Stdin, c.Stdout, c.Stderr = cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr()
	c.SysProcAttr = &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNS}

	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, filter.ForwardedSignals...)
	defer signal.Stop(sigs)
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("record: start: %w", err)
	}
	// The namespace is read while the command runs: it is gone once the
	// last process in it has exited. A command that is already gone is
	// found by its pid in the entries instead.
	ns, nsErr := bpfrec.MountNamespace(c.Process.Pid)
	waited := make(chan error, 1)
	go func() { waited <- c.Wait() }()
	werr := filter.WaitForwarding(c, sigs, waited)
	var ee *exec.ExitError
	if werr != nil && !errors.As(werr, &ee) {
		return nil, fmt.Errorf("record: wait: %w", werr)
	}
	if err := rec.Detach(); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	entries, err := rec.Entries()
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &recorded{set: &recording.Set{}, exitCode: filter.ExitCode(c.ProcessState)}
	found := false
	for _, e := range entries {
		if (nsErr == nil && e.MountNS == ns) || (nsErr != nil && e.Pid == c.Process.Pid) {
			r.set.Merge(e.Syscalls)
			found = true
		}
	}
	if lost, err := rec.LostNamespaces(); err == nil && nsErr == nil && slices.Contains(lost, ns) {
		return nil, fmt.Errorf("record: the recorder's map was full (the host's other mount namespaces took it): the command's syscalls were not all kept; use --recorder notify")
	}
	if !found {
		return nil, fmt.Errorf("record: the recorder saw no syscall of the command's mount namespace")
	}
	return r, nil
}
