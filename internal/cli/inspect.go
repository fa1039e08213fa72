package cli

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/internal/procfs"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
)

type inspectFilter struct {
	// Index is the kernel's: 0 is the filter installed first.
	Index        int    `json:"index"`
	Instructions int    `json:"instructions"`
	Program      string `json:"program"`
}

type inspectResult struct {
	PID            int             `json:"pid"`
	Command        string          `json:"command"`
	Seccomp        string          `json:"seccomp"`
	Container      string          `json:"container,omitempty"`
	Filters        []inspectFilter `json:"filters"`
	Profile        string          `json:"profile,omitempty"`
	Equal          *bool           `json:"equal,omitempty"`
	RuntimeWhy     string          `json:"runtimeWhy,omitempty"`
	Comparison     *bpf.Comparison `json:"comparison,omitempty"`
	DifferenceText []string        `json:"differenceText,omitempty"`
}

func newInspectCmd(o *options) *cobra.Command {
	var prof, runtimeModel, procRoot string
	var showProgram bool
	cmd := &cobra.Command{
		Use:   "inspect PID [--profile PROFILE]",
		Short: "Show the seccomp filters the kernel runs for a process, and prove them equal to a profile",
		Long: "Reads the BPF programs the kernel holds for thread PID (PTRACE_SECCOMP_GET_FILTER: root, a kernel\n" +
			"with CONFIG_CHECKPOINT_RESTORE, and seccompctl itself not under seccomp; the process pauses while\n" +
			"they are read) and disassembles them. With --profile it runs the kernel's filters (the strictest\n" +
			"verdict of all stacked filters counts) and the profile compiled by seccompctl in the simulator on\n" +
			"every syscall number of every architecture the filters check and on the profile's argument values,\n" +
			"and says whether every verdict is the same (exit 0) or where they differ (exit 1). Verdicts are\n" +
			"compared, not instructions: a container runtime compiles its own program. --runtime runc expects\n" +
			"what runc makes of a profile (ENOSYS for numbers above the profile's newest syscall); auto picks\n" +
			"runc for a process in a container and none for any other.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return fmt.Errorf("PID %q is not a process ID", args[0])
			}
			st, err := procfs.Status(procRoot, pid)
			if err != nil {
				return fmt.Errorf("process %d: %w", pid, err)
			}
			res := inspectResult{PID: pid, Command: st.Name, Seccomp: st.Seccomp.String(), Filters: []inspectFilter{}}
			if st.SeccompFilters >= 0 {
				res.Seccomp += fmt.Sprintf(", %d filter(s)", st.SeccompFilters)
			}
			cont, inContainer, _ := procfs.CgroupOf(procRoot, pid)
			if inContainer {
				res.Container = cont.ID
			}
			progs, err := filter.Dump(pid)
			if err != nil {
				return err
			}
			for i, p := range progs {
				res.Filters = append(res.Filters, inspectFilter{Index: i, Instructions: len(p), Program: bpf.Disassemble(p)})
			}
			if prof != "" {
				src, err := loadProfile(prof, o.stdin)
				if err != nil {
					return err
				}
				model, why := runtimeModel, "chosen with --runtime"
				if model == "auto" {
					model, why = bpf.RuntimeNone, "the process is in no container: its filters are taken as loaded from the profile as compiled"
					if inContainer {
						model, why = bpf.RuntimeRunc, "the process is in container "+shortID(cont.ID)+": its filter is taken as runc made it"
					}
				}
				c, err := bpf.CompareKernel(progs, src.Profile, bpf.CompareOptions{Native: hostArch(), Runtime: model})
				if err != nil {
					return err
				}
				eq := c.Equal()
				res.Profile, res.Equal, res.RuntimeWhy, res.Comparison = src.Name, &eq, why, c
				res.DifferenceText = differenceLines(c)
			}
			out := cmd.OutOrStdout()
			if err := o.emit(out, res, func() { printInspect(out, res, showProgram) }); err != nil {
				return err
			}
			if res.Equal != nil && !*res.Equal {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&prof, "profile", "", "profile to prove the kernel's filters equal to (a file or a predefined name)")
	cmd.Flags().StringVar(&runtimeModel, "runtime", "auto", "how the filter was made from the profile: auto, runc or none")
	cmd.Flags().StringVar(&procRoot, "proc", "/proc", "the proc file system to read the process's status from")
	cmd.Flags().BoolVar(&showProgram, "program", true, "print each filter's disassembly")
	return cmd
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// differenceLines says each kept difference in words.
func differenceLines(c *bpf.Comparison) []string {
	var out []string
	for _, d := range c.Differences {
		name := d.Syscall
		if name == "" {
			name = "(no syscall)"
		}
		args := ""
		if d.Args != ([6]uint64{}) {
			var a []string
			for _, v := range d.Args {
				a = append(a, fmt.Sprintf("%#x", v))
			}
			args = " args " + strings.Join(a, ",")
		}
		out = append(out, fmt.Sprintf("%s %s (nr %d)%s: kernel %s, profile %s", d.ABI, name, d.Nr, args, bpf.RetString(d.Kernel), bpf.RetString(d.Profile)))
	}
	return out
}

func printInspect(w io.Writer, r inspectResult, showProgram bool) {
	where := "on the host"
	if r.Container != "" {
		where = "in container " + shortID(r.Container)
	}
	fmt.Fprintf(w, "process %d (%s) %s: seccomp %s\n", r.PID, r.Command, where, r.Seccomp)
	if len(r.Filters) == 0 {
		fmt.Fprintln(w, "the kernel holds no seccomp filter for it")
	}
	for _, f := range r.Filters {
		fmt.Fprintf(w, "filter %d (%d instructions)%s\n", f.Index, f.Instructions, map[bool]string{true: ", the newest", false: ""}[f.Index == len(r.Filters)-1 && len(r.Filters) > 1])
		if showProgram {
			fmt.Fprint(w, f.Program)
		}
	}
	c := r.Comparison
	if c == nil {
		return
	}
	fmt.Fprintf(w, "\ncompared with profile %s, runtime model %s (%s)\n", r.Profile, c.Runtime, r.RuntimeWhy)
	if *r.Equal {
		fmt.Fprintf(w, "PROVEN EQUAL: the kernel's %d filter(s) and %s give the same verdict in all %d cases:\n", c.Filters, r.Profile, c.Cases)
	} else {
		fmt.Fprintf(w, "DIFFERENT: %d of %d cases give another verdict", c.DifferenceCount, c.Cases)
		if len(c.Unchecked) > 0 {
			fmt.Fprintf(w, ", and %d architecture(s) the filters check could not be compared", len(c.Unchecked))
		}
		fmt.Fprintln(w, "; the cases run:")
	}
	for _, a := range c.ABIs {
		fmt.Fprintf(w, "  %s: every number %d..%d and %d beyond, all arguments zero", a.ABI, a.First, a.Last, len(a.Beyond))
		if a.ArgCases > 0 {
			fmt.Fprintf(w, "; %d argument vectors for %s", a.ArgCases, strings.Join(a.ArgSyscalls, ", "))
		}
		if a.StubAbove >= 0 {
			fmt.Fprintf(w, "; ENOSYS above %d (runc's stub)", a.StubAbove)
		}
		fmt.Fprintln(w)
	}
	if len(c.NotInstalled) > 0 {
		fmt.Fprintf(w, "the runtime did not install the profile's rules for %s: its libseccomp does not know them, so they get ENOSYS, not the profile's verdict\n", strings.Join(c.NotInstalled, ", "))
	}
	for _, u := range c.Unchecked {
		fmt.Fprintf(w, "not compared: %s\n", u)
	}
	fmt.Fprintf(w, "not proven: argument values other than those listed (built from the values the profile compares: each ±1, 0, all ones); a syscall of an architecture no filter checks gets %s from the kernel and %s from the profile (no process on this host can make one)\n",
		bpf.RetString(c.OtherArch[0]), bpf.RetString(c.OtherArch[1]))
	if c.DifferenceCount > 0 {
		fmt.Fprintln(w, "differences:")
		const show = 50
		for i, l := range r.DifferenceText {
			if i == show {
				fmt.Fprintf(w, "  ... and %d more (-o json lists %d)\n", c.DifferenceCount-show, len(c.Differences))
				break
			}
			fmt.Fprintln(w, "  "+l)
		}
	}
}
