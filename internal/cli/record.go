package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// recorded is what a recorder saw while argv ran.
type recorded struct {
	set      *recording.Set
	exitCode int
	// unknown lists the (arch, number) pairs of an ABI no table knows:
	// they cannot be named, so they are reported rather than dropped.
	unknown []string
}

// recorderFunc runs argv to completion, recording every syscall of it, its
// threads and its descendants.
type recorderFunc func(cmd *cobra.Command, argv []string) (*recorded, error)

// ebpfRecorder is the in-kernel recorder (root only, no per-syscall round
// trip; record_ebpf_linux.go), nil where pkg/seccomp/recording/bpfrec has
// no program; `--recorder auto` prefers it when running as root.
var ebpfRecorder recorderFunc

func newRecordCmd(o *options) *cobra.Command {
	var out, base, format, name, recorder string
	cmd := &cobra.Command{
		Use:   "record [-o FILE] [--base PROFILE] [--format oci|crd] [--name NAME] -- COMMAND [ARGS...]",
		Short: "Run a command and write the profile that allows exactly the syscalls it made",
		Long: "Runs COMMAND and records every syscall it, its threads and all its descendants make, on every ABI\n" +
			"of this host (a 32-bit child on x86_64 is recorded with the i386 table), then writes an OCI profile:\n" +
			"default action SCMP_ACT_ERRNO, the recorded names allowed, architectures for the ABIs seen plus this\n" +
			"host's family. The profile also allows what `seccompctl run`'s own wrapper does between loading the\n" +
			"filter and execve, so `seccompctl run --profile FILE -- COMMAND` runs the same command with no denial.\n" +
			"The notify recorder needs no root (seccomp user notification, Linux >= 5.6): every syscall is a round\n" +
			"trip to seccompctl, so the command runs much slower (see docs/benchmarks.md).\n" +
			"-o FILE writes the profile there (default stdout; -o json or -o yaml print the OCI or CRD form);\n" +
			"--format crd writes a SeccompProfile object named --name. --base starts from a predefined profile or a\n" +
			"profile file (a runtime's default, say) and adds the recorded names it does not already allow.\n" +
			"The exit code is COMMAND's (128+N when signal N killed it).",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dest, form, err := recordOutput(out, cmd.Flags().Changed("output"), format)
			if err != nil {
				return err
			}
			if form == "crd" {
				if name == "" {
					name = recordObjectName(dest, args[0])
				}
				if err := nodepath.ValidateName(name); err != nil {
					return fmt.Errorf("--name: %w", err)
				}
			}
			var baseProf *profile.Profile
			if base != "" {
				src, err := loadProfile(base, o.stdin)
				if err != nil {
					return fmt.Errorf("--base: %w", err)
				}
				baseProf = src.Profile
			}
			p, exitCode, err := recordProfile(cmd, args, recorder, baseProf)
			if err != nil {
				return err
			}
			if err := writeRecorded(cmd.OutOrStdout(), dest, form, name, p); err != nil {
				return err
			}
			if dest != "-" {
				fmt.Fprintf(cmd.ErrOrStderr(), "seccompctl: profile written to %s\n", dest)
			}
			if exitCode != 0 {
				return &exitError{code: exitCode}
			}
			return nil
		},
	}
	// Shadows the root's -o (a report format): here it is the profile's
	// destination, and json|yaml keep their meaning.
	cmd.Flags().StringVarP(&out, "output", "o", "-", "write the profile to this file (- or unset: stdout; json or yaml: print that form)")
	cmd.Flags().StringVar(&base, "base", "", "start from this profile (predefined name or file) and add the recorded syscalls")
	cmd.Flags().StringVar(&format, "format", "", "oci (JSON) or crd (SeccompProfile YAML); default from -o: crd for .yaml/.yml, else oci")
	cmd.Flags().StringVar(&name, "name", "", "metadata.name of the SeccompProfile with --format crd (default: from -o FILE or COMMAND)")
	cmd.Flags().StringVar(&recorder, "recorder", "auto", "notify (seccomp user notification, no root), ebpf (in-kernel, root) or auto")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

// recordProfile runs argv under the recorder named by recorder (auto,
// notify, ebpf), prints what it recorded on stderr and returns the profile
// that allows it (on base, when set) and argv's exit code.
func recordProfile(cmd *cobra.Command, argv []string, recorder string, base *profile.Profile) (*profile.Profile, int, error) {
	rec, err := chooseRecorder(recorder)
	if err != nil {
		return nil, 0, err
	}
	r, err := rec(cmd, argv)
	if err != nil {
		return nil, 0, err
	}
	native := hostArch()
	summarize(cmd.ErrOrStderr(), r, native)
	return recording.Profile(r.set, recording.ProfileOptions{Base: base, Native: native}), r.exitCode, nil
}

// recordOutput turns -o and --format into a destination ("-": stdout) and
// a form (oci or crd). -o json and -o yaml keep their meaning of the other
// commands (print that form); any other value is a file.
func recordOutput(out string, set bool, format string) (dest, form string, err error) {
	dest = "-"
	switch {
	case !set || out == "-":
	case out == "json" || out == "yaml":
		f := map[string]string{"json": "oci", "yaml": "crd"}[out]
		if format != "" && format != f {
			return "", "", fmt.Errorf("-o %s prints the %s form, which contradicts --format %s", out, f, format)
		}
		format = f
	case out == "human":
		return "", "", fmt.Errorf("-o human: record writes a profile; give a file, json or yaml")
	default:
		dest = out
	}
	if format == "" {
		format = "oci"
		if ext := filepath.Ext(dest); ext == ".yaml" || ext == ".yml" {
			format = "crd"
		}
	}
	if format != "oci" && format != "crd" {
		return "", "", fmt.Errorf("unknown --format %q: use oci or crd", format)
	}
	return dest, format, nil
}

// recordObjectName derives the SeccompProfile's name from the output file,
// else from the command.
func recordObjectName(dest, command string) string {
	from := dest
	if from == "-" {
		from = command
	}
	return objectName(&profilefile.Source{Name: from})
}

func chooseRecorder(name string) (recorderFunc, error) {
	switch name {
	case "notify":
		return recordNotify, nil
	case "ebpf":
		if ebpfRecorder == nil {
			return nil, fmt.Errorf("--recorder ebpf: the eBPF recorder is not available in this build (use notify)")
		}
		if os.Geteuid() != 0 {
			return nil, fmt.Errorf("--recorder ebpf needs root (notify does not)")
		}
		return ebpfRecorder, nil
	case "auto":
		if ebpfRecorder != nil && os.Geteuid() == 0 {
			return ebpfRecorder, nil
		}
		return recordNotify, nil
	}
	return nil, fmt.Errorf("unknown --recorder %q: use auto, notify or ebpf", name)
}

// recordNotify records with a filter whose every verdict, on every ABI of
// the host's family, is USER_NOTIF: the supervisor answers each with
// CONTINUE and keeps its (arch, number). Nothing can be lost (the thread
// waits for the answer) and no root is needed.
func recordNotify(cmd *cobra.Command, argv []string) (*recorded, error) {
	native := hostArch()
	prog, err := bpf.Compile(recording.NotifyAll(native), bpf.Options{Arch: native, Notify: true})
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	rep, err := filter.Run(prog.Instructions, prog.Flags, argv, filter.RunOptions{
		Notify: true, Record: true,
		Stdin: cmd.InOrStdin(), Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(),
	})
	if err != nil {
		return nil, err
	}
	r := &recorded{set: &recording.Set{}, exitCode: rep.ExitCode}
	for _, c := range rep.Recorded {
		if _, ok := syscalls.ByAudit(c.Audit, int(c.Nr)); !ok {
			r.unknown = append(r.unknown, fmt.Sprintf("arch %#x #%d", c.Audit, c.Nr))
			continue
		}
		r.set.AddAudit(c.Audit, int(c.Nr))
	}
	return r, nil
}

// summarize prints what was recorded per ABI, then adds
// filter.RunnerSyscalls (on the native ABI) so that `seccompctl run` can
// start the command under the profile.
func summarize(w io.Writer, r *recorded, native string) {
	var parts []string
	for _, abi := range r.set.ABIs() {
		parts = append(parts, fmt.Sprintf("%s %d", abi, len(r.set.NamesOf(abi))))
	}
	fmt.Fprintf(w, "seccompctl: recorded %d syscalls (%s)\n", r.set.Len(), strings.Join(parts, ", "))
	if u := r.set.Unnamed(); len(u) > 0 {
		fmt.Fprintf(w, "seccompctl: %d syscall numbers no table names, NOT in the profile: %s\n", len(u), strings.Join(u, " "))
	}
	if len(r.unknown) > 0 {
		fmt.Fprintf(w, "seccompctl: %d syscalls of an unknown ABI, NOT in the profile: %s\n", len(r.unknown), strings.Join(r.unknown, " "))
	}
	a, ok := syscalls.Get(native)
	if !ok {
		return
	}
	var added []string
	for _, n := range filter.RunnerSyscalls {
		if _, ok := a.Lookup(n); ok && !r.set.Has(n) {
			r.set.Add(a.Name, n)
			added = append(added, n)
		}
	}
	if len(added) > 0 {
		fmt.Fprintf(w, "seccompctl: added for seccompctl run's wrapper: %s\n", strings.Join(added, " "))
	}
}

// writeRecorded writes p to dest ("-": w) as OCI JSON or a SeccompProfile.
func writeRecorded(w io.Writer, dest, form, name string, p *profile.Profile) error {
	var b []byte
	var err error
	if form == "crd" {
		b, err = crdYAML(name, p)
	} else {
		b, err = profile.Marshal(p)
	}
	if err != nil {
		return err
	}
	if dest == "-" {
		_, err = w.Write(b)
		return err
	}
	if err := os.WriteFile(dest, b, 0o644); err != nil {
		return fmt.Errorf("write profile: %w", err)
	}
	return nil
}
