package cli

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/defaultcheck"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// checkResult is check's machine-readable output: one report per default.
type checkResult struct {
	Reports []*defaultcheck.Report `json:"reports"`
	Breaks  bool                   `json:"breaks"`
}

func newCheckCmd(o *options) *cobra.Command {
	var against, kernel, recorder string
	var caps, capAdd, arches []string
	cmd := &cobra.Command{
		Use:   "check --against containerd|crio|docker[@VERSION]|all [--caps CAPS] [--arch ARCHES] (PROFILE | -- COMMAND [ARGS...])",
		Short: "List what a workload uses that a runtime's default seccomp profile (RuntimeDefault) would refuse",
		Long: "Checks the syscalls a workload uses against a container runtime's default seccomp profile, the one a pod gets\n" +
			"with seccompProfile RuntimeDefault (or with the kubelet's SeccompDefault on). PROFILE is the profile the\n" +
			"workload uses, best a recorded one (seccompctl record); with -- COMMAND the command is recorded first, by\n" +
			"record's recorder. Every syscall, and every argument value that matters (clone namespace flags, socket\n" +
			"families, personality values), that PROFILE allows and the default refuses is listed with the action and\n" +
			"errno the workload would get, per architecture and ABI.\n" +
			"The defaults are generated from the runtimes' sources (containerd, CRI-O, Docker; several versions each, the\n" +
			"newest when no @VERSION; `seccompctl check --list` shows them); their conditional rules are resolved for the\n" +
			"container's bounding capabilities (--caps, default: a default container's; --cap-add adds to them), --arch (default: this host's)\n" +
			"and the node's kernel (--kernel, default: this host's). --against all compares the newest of each runtime.\n" +
			"Exit code 1 when something would be refused, 0 when nothing would (with -- COMMAND, COMMAND's own exit code\n" +
			"is only reported on stderr).",
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("list") {
				return printDefaults(o, cmd.OutOrStdout())
			}
			if against == "" {
				return fmt.Errorf("--against: say which runtime's default: containerd, crio, docker (with @VERSION) or all")
			}
			refs := []string{against}
			if against == "all" {
				refs = runtimedefault.Runtimes()
			}
			opts := defaultcheck.Options{Arches: arches, Kernel: kernel}
			if cmd.Flags().Changed("caps") || len(capAdd) > 0 {
				base := profile.DefaultCaps
				if cmd.Flags().Changed("caps") {
					base = caps
				}
				opts.Caps = defaultcheck.NormCaps(append(slices.Clone(base), capAdd...))
			}
			workload, err := checkSubject(cmd, o, args, recorder)
			if err != nil {
				return err
			}
			res := checkResult{Reports: []*defaultcheck.Report{}}
			for _, ref := range refs {
				rep, err := defaultcheck.Check(ref, workload, opts)
				if err != nil {
					return err
				}
				res.Reports = append(res.Reports, rep)
				res.Breaks = res.Breaks || rep.Breaks
			}
			err = o.emit(cmd.OutOrStdout(), res, func() { printCheck(cmd.OutOrStdout(), res) })
			if err != nil {
				return err
			}
			if res.Breaks {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&against, "against", "", "containerd, crio or docker, with @VERSION (default: the newest held), or all")
	cmd.Flags().StringSliceVar(&caps, "caps", nil, "the container's bounding capabilities (CAP_SYS_ADMIN or SYS_ADMIN; default: a default container's)")
	cmd.Flags().StringSliceVar(&capAdd, "cap-add", nil, "capabilities the container has besides --caps (or besides a default container's)")
	cmd.Flags().StringSliceVar(&arches, "arch", nil, "native architectures to check (amd64, arm64, ...; default: this host's)")
	cmd.Flags().StringVar(&kernel, "kernel", "", "the node's kernel release (default: this host's)")
	cmd.Flags().StringVar(&recorder, "recorder", "auto", "with -- COMMAND: notify, ebpf or auto, as for seccompctl record")
	cmd.Flags().Bool("list", false, "list the defaults held (runtime, version, architectures, origin)")
	return cmd
}

// checkSubject loads PROFILE, or records -- COMMAND.
func checkSubject(cmd *cobra.Command, o *options, args []string, recorder string) (*profile.Profile, error) {
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		if dash != 0 || len(args) == 0 {
			return nil, fmt.Errorf("give either a profile or -- COMMAND, not both")
		}
		p, exitCode, err := recordProfile(cmd, args, recorder, nil)
		if err != nil {
			return nil, err
		}
		if exitCode != 0 {
			fmt.Fprintf(cmd.ErrOrStderr(), "seccompctl: the command exited with %d: the recording may miss what it does when it succeeds\n", exitCode)
		}
		return p, nil
	}
	if len(args) != 1 {
		return nil, fmt.Errorf("give one profile (a file, - for stdin, or a predefined name), or -- COMMAND")
	}
	// Unresolved: its conditions are resolved per architecture, as the
	// default's are.
	src, err := readProfile(args[0], o.stdin)
	if err != nil {
		return nil, err
	}
	return src.Profile, nil
}

func printDefaults(o *options, w io.Writer) error {
	type row struct {
		Ref    string   `json:"ref"`
		Arches []string `json:"arches"`
		Origin string   `json:"origin"`
	}
	var rows []row
	for _, d := range runtimedefault.All() {
		rows = append(rows, row{d.Ref(), d.Arches, d.Origin})
	}
	return o.emit(w, rows, func() {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "DEFAULT\tARCHES\tORIGIN")
		for _, r := range rows {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Ref, strings.Join(r.Arches, ","), r.Origin)
		}
		tw.Flush()
	})
}

// refusedWords says what the workload would get: "ERRNO(EPERM)".
func refusedWords(r defaultcheck.Refusal) string {
	if r.Action != profile.ActErrno {
		return strings.TrimPrefix(string(r.Action), "SCMP_ACT_")
	}
	if r.ErrnoName != "" {
		return "ERRNO(" + r.ErrnoName + ")"
	}
	return fmt.Sprintf("ERRNO(%d)", r.Errno)
}

// whenWords says for which arguments: "always" or the refused values.
func whenWords(r defaultcheck.Refusal) string {
	if r.Always {
		return "always"
	}
	var vs []string
	for _, v := range r.Values {
		if v.Name != "" {
			vs = append(vs, fmt.Sprintf("arg%d=%s", v.Index, v.Name))
		}
	}
	// Unnamed values are examples of "any other value" (personality 0x1,
	// 0x7, ...): the default's condition says it better.
	s := strings.Join(vs, " ")
	if s == "" {
		s = "other argument values"
	}
	if len(r.AllowedOnly) > 0 {
		s += " (allowed only: " + strings.Join(r.AllowedOnly, " | ") + ")"
	}
	return s
}

func printCheck(w io.Writer, res checkResult) {
	if len(res.Reports) > 1 {
		printComparison(w, res)
		return
	}
	for _, rep := range res.Reports {
		n := 0
		for _, a := range rep.Arches {
			n += len(a.Refused)
		}
		fmt.Fprintf(w, "against %s (%d capabilities, kernel %s): ", rep.Against, len(rep.Caps), rep.Kernel)
		if n == 0 {
			fmt.Fprintln(w, "nothing the workload uses would be refused")
			noteUnchecked(w, rep)
			continue
		}
		fmt.Fprintf(w, "%d syscall(s) would be refused\n", n)
		noteUnchecked(w, rep)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ARCH\tSYSCALL\tABIS\tREFUSED WITH\tWHEN")
		for _, a := range rep.Arches {
			for _, r := range a.Refused {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.Arch, r.Syscall, strings.Join(r.ABIs, ","), refusedWords(r), whenWords(r))
			}
		}
		tw.Flush()
	}
}

// noteUnchecked names the architectures none of whose ABIs the workload's
// profile admits: nothing was checked there.
func noteUnchecked(w io.Writer, rep *defaultcheck.Report) {
	for _, a := range rep.Arches {
		if len(a.ABIs) == 0 {
			fmt.Fprintf(w, "note: the workload's profile admits no ABI of %s: nothing checked there\n", a.Arch)
		}
	}
}

// printComparison prints one line per (arch, syscall) any default refuses,
// with one column per default: what it does ("ok" when it allows).
func printComparison(w io.Writer, res checkResult) {
	type key struct{ arch, syscall string }
	cells := map[key][]string{}
	var keys []key
	for i, rep := range res.Reports {
		for _, a := range rep.Arches {
			for _, r := range a.Refused {
				k := key{a.Arch, r.Syscall}
				if _, ok := cells[k]; !ok {
					keys = append(keys, k)
					cells[k] = make([]string, len(res.Reports))
				}
				c := refusedWords(r)
				if !r.Always {
					c += " for some args"
				}
				if cells[k][i] != "" {
					c = cells[k][i] + "; " + c
				}
				cells[k][i] = c
			}
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].arch < keys[j].arch || keys[i].arch == keys[j].arch && keys[i].syscall < keys[j].syscall
	})
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprint(tw, "ARCH\tSYSCALL")
	for _, rep := range res.Reports {
		fmt.Fprintf(tw, "\t%s", rep.Against)
	}
	fmt.Fprintln(tw)
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s", k.arch, k.syscall)
		for _, c := range cells[k] {
			if c == "" {
				c = "ok"
			}
			fmt.Fprintf(tw, "\t%s", c)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	if len(keys) == 0 {
		fmt.Fprintln(w, "nothing the workload uses would be refused by any of them")
	}
}
