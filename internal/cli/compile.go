package cli

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	xbpf "golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
)

func compileFor(arg string, stdin io.Reader, arch string, notify bool) (*profilefile.Source, *bpf.Program, error) {
	src, err := loadProfile(arg, stdin)
	if err != nil {
		return nil, nil, err
	}
	prog, err := bpf.Compile(src.Profile, bpf.Options{Arch: arch, Notify: notify})
	if err != nil {
		return nil, nil, fmt.Errorf("compile %s for %s: %w", src.Name, arch, err)
	}
	return src, prog, nil
}

func abiNames(p *bpf.Program) string {
	var n []string
	for _, a := range p.Arches {
		n = append(n, a.Name)
	}
	return strings.Join(n, " ")
}

func newCompileCmd(o *options) *cobra.Command {
	var arch, format string
	cmd := &cobra.Command{
		Use:   "compile PROFILE",
		Short: "Compile a profile to the BPF program the kernel loads",
		Long: "Compile a profile for a host of --arch: its native ABI plus the compat ABIs the profile lists.\n" +
			"--format disasm prints a listing, raw writes the struct sock_filter array exactly as the kernel\n" +
			"takes it (the program `seccompctl run` loads), json the instructions as objects.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, prog, err := compileFor(args[0], o.stdin, arch, false)
			if err != nil {
				return err
			}
			stderr := cmd.ErrOrStderr()
			var abis []string
			for abi := range prog.Skipped {
				abis = append(abis, abi)
			}
			sort.Strings(abis)
			for _, abi := range abis {
				fmt.Fprintf(stderr, "note: skipped on %s (no such syscall there): %s\n", abi, strings.Join(prog.Skipped[abi], ", "))
			}
			out := cmd.OutOrStdout()
			switch format {
			case "raw":
				if f, ok := out.(*os.File); ok {
					if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
						return fmt.Errorf("refusing to write a binary program to a terminal: redirect it (> filter.bpf) or use --format disasm")
					}
				}
				_, err := out.Write(prog.Raw())
				return err
			case "json":
				type insn struct {
					Code   uint16 `json:"code"`
					Jt     uint8  `json:"jt"`
					Jf     uint8  `json:"jf"`
					K      uint32 `json:"k"`
					Listed string `json:"asm"`
				}
				v := struct {
					ABIs         []string `json:"abis"`
					Flags        uint     `json:"flags"`
					Instructions []insn   `json:"instructions"`
				}{ABIs: strings.Fields(abiNames(prog)), Flags: prog.Flags}
				for _, in := range prog.Instructions {
					v.Instructions = append(v.Instructions, insn{in.Op, in.Jt, in.Jf, in.K, asm(in)})
				}
				o2 := *o
				o2.output = "json"
				return o2.emit(out, v, nil)
			case "disasm", "":
				fmt.Fprint(out, bpf.Disassemble(prog.Instructions))
				fmt.Fprintf(out, "# %d instructions, ABIs: %s, flags: %#x\n", len(prog.Instructions), abiNames(prog), prog.Flags)
				return nil
			}
			return fmt.Errorf("unknown --format %q: use disasm, raw or json", format)
		},
	}
	cmd.Flags().StringVar(&arch, "arch", hostArch(), "host architecture (x86_64, aarch64, ...)")
	cmd.Flags().StringVar(&format, "format", "disasm", "disasm, raw or json")
	return cmd
}

func asm(in xbpf.RawInstruction) string {
	if d, ok := in.Disassemble().(fmt.Stringer); ok {
		return d.String()
	}
	return fmt.Sprintf("%#v", in)
}
