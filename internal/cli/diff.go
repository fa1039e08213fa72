package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

type diffABI struct {
	ABI      string   `json:"abi"`
	OnlyA    []string `json:"onlyA"`
	OnlyB    []string `json:"onlyB"`
	MissingA bool     `json:"missingInA,omitempty"`
	MissingB bool     `json:"missingInB,omitempty"`
}

func allows(ret uint32) bool {
	a, _ := bpf.DescribeRet(ret)
	return a == profile.ActAllow || a == profile.ActLog
}

// conditional lists the syscall names a profile has argument rules for:
// their verdict with all-zero arguments is only one of several.
func conditional(p *profile.Profile) map[string]bool {
	out := map[string]bool{}
	for _, s := range p.Syscalls {
		if len(s.Args) > 0 {
			for _, n := range s.AllNames() {
				out[n] = true
			}
		}
	}
	return out
}

func newDiffCmd(o *options) *cobra.Command {
	var arch string
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Show, per ABI, the syscalls each profile allows that the other does not",
		Long: "Compares the compiled programs syscall by syscall (all-zero arguments). A name marked\n" +
			"(conditional) has argument rules in that profile: other arguments may get another verdict.",
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			sa, pa, err := compileFor(args[0], o.stdin, arch, false)
			if err != nil {
				return err
			}
			sb, pb, err := compileFor(args[1], o.stdin, arch, false)
			if err != nil {
				return err
			}
			ca, cb := conditional(sa.Profile), conditional(sb.Profile)
			has := func(p *bpf.Program, a *syscalls.Arch) bool {
				for _, x := range p.Arches {
					if x == a {
						return true
					}
				}
				return false
			}
			mark := func(n string, c map[string]bool) string {
				if c[n] {
					return n + " (conditional)"
				}
				return n
			}
			var res []diffABI
			for _, abi := range syscalls.Family(arch) {
				inA, inB := has(pa, abi), has(pb, abi)
				if !inA && !inB {
					continue
				}
				d := diffABI{ABI: abi.Name, OnlyA: []string{}, OnlyB: []string{}, MissingA: !inA, MissingB: !inB}
				if inA && inB {
					for _, s := range abi.Syscalls() {
						ra, err := simulate(pa, abi, s.Nr, [6]uint64{})
						if err != nil {
							return err
						}
						rb, err := simulate(pb, abi, s.Nr, [6]uint64{})
						if err != nil {
							return err
						}
						switch {
						case allows(ra.Ret) && !allows(rb.Ret):
							d.OnlyA = append(d.OnlyA, mark(s.Name, ca))
						case allows(rb.Ret) && !allows(ra.Ret):
							d.OnlyB = append(d.OnlyB, mark(s.Name, cb))
						}
					}
				}
				res = append(res, d)
			}
			out := cmd.OutOrStdout()
			return o.emit(out, res, func() {
				for _, d := range res {
					switch {
					case d.MissingA:
						fmt.Fprintf(out, "%s: only %s covers this ABI\n", d.ABI, args[1])
					case d.MissingB:
						fmt.Fprintf(out, "%s: only %s covers this ABI\n", d.ABI, args[0])
					case len(d.OnlyA)+len(d.OnlyB) == 0:
						fmt.Fprintf(out, "%s: same verdicts\n", d.ABI)
					default:
						fmt.Fprintf(out, "%s:\n  allowed only by %s (%d): %s\n  allowed only by %s (%d): %s\n", d.ABI,
							args[0], len(d.OnlyA), strings.Join(d.OnlyA, ", "), args[1], len(d.OnlyB), strings.Join(d.OnlyB, ", "))
					}
				}
			})
		},
	}
	cmd.Flags().StringVar(&arch, "arch", hostArch(), "host architecture to compare for")
	return cmd
}
