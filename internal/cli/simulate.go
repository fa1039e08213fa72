package cli

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

type simResult struct {
	ABI          string `json:"abi"`
	Syscall      string `json:"syscall"`
	Nr           int    `json:"nr"`
	Action       string `json:"action"`
	Data         uint16 `json:"data"`
	Ret          string `json:"ret"`
	Instructions int    `json:"instructions"`
}

// abiOf finds the ABI named name among the program's.
func abiOf(prog *bpf.Program, name string) (*syscalls.Arch, error) {
	want, ok := syscalls.Get(name)
	if !ok {
		return nil, fmt.Errorf("unknown architecture %q", name)
	}
	for _, a := range prog.Arches {
		if a == want {
			return a, nil
		}
	}
	return nil, fmt.Errorf("the program has no %s ABI (it has %s): the profile does not list it, or it is not of this --arch family", want.Name, abiNames(prog))
}

func simulate(prog *bpf.Program, abi *syscalls.Arch, nr int, args [6]uint64) (bpf.Result, error) {
	d := bpf.Data{Nr: int32(nr), Arch: abi.Audit, Args: args}
	return bpf.SimulateOrder(prog.Instructions, d, bpf.ByteOrder(abi))
}

func newSimulateCmd(o *options) *cobra.Command {
	var arch, abiName, sc, argList string
	cmd := &cobra.Command{
		Use:   "simulate PROFILE --syscall NAME|NR [--args a0,a1,...]",
		Short: "Run the compiled program on one syscall and print the verdict",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sc == "" {
				return fmt.Errorf("--syscall is required (a name such as openat, or a number)")
			}
			_, prog, err := compileFor(args[0], o.stdin, arch, false)
			if err != nil {
				return err
			}
			if abiName == "" {
				abiName = arch
			}
			abi, err := abiOf(prog, abiName)
			if err != nil {
				return err
			}
			nr, name, err := syscallNr(abi, sc)
			if err != nil {
				return err
			}
			var a [6]uint64
			if argList != "" {
				for i, s := range strings.Split(argList, ",") {
					if i > 5 {
						return fmt.Errorf("--args: a syscall has at most 6 arguments")
					}
					v, err := strconv.ParseUint(strings.TrimSpace(s), 0, 64)
					if err != nil {
						return fmt.Errorf("--args: argument %d %q is not a number (decimal or 0x hex)", i, s)
					}
					a[i] = v
				}
			}
			res, err := simulate(prog, abi, nr, a)
			if err != nil {
				return err
			}
			act, data := bpf.DescribeRet(res.Ret)
			r := simResult{ABI: abi.Name, Syscall: name, Nr: nr, Action: string(act), Data: data, Ret: bpf.RetString(res.Ret), Instructions: res.Executed}
			out := cmd.OutOrStdout()
			return o.emit(out, r, func() {
				fmt.Fprintf(out, "%s %s (nr %d): %s\n%d instructions executed\n", r.ABI, r.Syscall, r.Nr, r.Ret, r.Instructions)
			})
		},
	}
	cmd.Flags().StringVar(&arch, "arch", hostArch(), "host architecture the program is compiled for")
	cmd.Flags().StringVar(&abiName, "abi", "", "ABI of the syscall (default: the native one; e.g. x86 or x32 on x86_64)")
	cmd.Flags().StringVar(&sc, "syscall", "", "syscall name or number")
	cmd.Flags().StringVar(&argList, "args", "", "comma-separated arguments (decimal or 0x hex)")
	return cmd
}

func syscallNr(abi *syscalls.Arch, s string) (int, string, error) {
	if n, err := strconv.Atoi(s); err == nil {
		name, ok := abi.NameOf(n)
		if !ok {
			name = "#" + s
		}
		return n, name, nil
	}
	n, ok := abi.Lookup(s)
	if !ok {
		return 0, "", fmt.Errorf("unknown syscall %q on %s", s, abi.Name)
	}
	return n, s, nil
}
