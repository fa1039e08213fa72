package cli

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

func newRunCmd(o *options) *cobra.Command {
	var prof, report string
	var complain, logDenials bool
	cmd := &cobra.Command{
		Use:   "run --profile PROFILE [--complain|--log] [--report FILE] -- COMMAND [ARGS...]",
		Short: "Run a command confined by a profile (the kernel enforces it)",
		Long: "Sets no_new_privs, loads the compiled filter and execs COMMAND; its exit code (or 128+signal) is\n" +
			"seccompctl's. With --complain nothing is denied: every syscall the profile would deny is let\n" +
			"through and counted (seccomp user notification: none is lost, no root needed), and listed at the end.\n" +
			"With --log the profile is enforced and every denial is also written to the kernel's audit log\n" +
			"(type=1326, SECCOMP_FILTER_FLAG_LOG): the way to watch a long-running daemon that must not stop.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if prof == "" {
				return fmt.Errorf("--profile is required (a file or one of the predefined profiles: seccompctl profiles)")
			}
			if complain && logDenials {
				return fmt.Errorf("--complain and --log exclude each other: complain denies nothing, log enforces")
			}
			_, prog, err := compileFor(prof, o.stdin, hostArch(), complain)
			if err != nil {
				return err
			}
			if logDenials {
				// ERRNO denials are not audited unless the filter asks for it.
				prog.Flags |= unix.SECCOMP_FILTER_FLAG_LOG
			}
			rep, err := filter.Run(prog.Instructions, prog.Flags, args, filter.RunOptions{
				Notify:  complain,
				Resolve: resolver(prog),
				Stdin:   cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
			})
			if err != nil {
				return err
			}
			if complain {
				stderr := cmd.ErrOrStderr()
				if len(rep.Denied) == 0 {
					fmt.Fprintln(stderr, "seccompctl: no syscall would have been denied")
				} else {
					fmt.Fprintln(stderr, "seccompctl: would have denied:")
					for _, d := range rep.Denied {
						fmt.Fprintf(stderr, "  %s (%s) × %d\n", d.Syscall, d.Arch, d.Count)
					}
				}
			}
			if report != "" {
				b, err := json.MarshalIndent(rep, "", "  ")
				if err != nil {
					return err
				}
				if err := os.WriteFile(report, append(b, '\n'), 0o644); err != nil {
					return fmt.Errorf("write report: %w", err)
				}
			}
			if rep.ExitCode != 0 {
				return &exitError{code: rep.ExitCode}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prof, "profile", "", "profile file or predefined profile name")
	cmd.Flags().BoolVar(&complain, "complain", false, "deny nothing; report what the profile would deny")
	cmd.Flags().BoolVar(&logDenials, "log", false, "enforce and write every denial to the kernel audit log (type=1326)")
	cmd.Flags().StringVar(&report, "report", "", "write a JSON report (exit code, would-be denials) to this file")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// resolver names a notified syscall: the ABI is the one of the program whose
// AUDIT_ARCH matches (x32 shares x86_64's, told apart by the x32 bit).
func resolver(prog *bpf.Program) func(uint32, int32) (string, string) {
	return func(arch uint32, nr int32) (string, string) {
		x32 := uint32(nr)&syscalls.X32SyscallBit != 0 && nr >= 0
		for _, a := range prog.Arches {
			if a.Audit != arch || (a.Name == "x32") != x32 {
				continue
			}
			if n, ok := a.NameOf(int(nr)); ok {
				return a.Name, n
			}
			return a.Name, fmt.Sprintf("#%d", nr)
		}
		return fmt.Sprintf("arch %#x", arch), fmt.Sprintf("#%d", nr)
	}
}
