// Package cli holds seccompctl's cobra commands. Each command is a thin layer
// over pkg/seccomp: load a profile, call the library, print the result for a
// person (default) or a machine (-o json|yaml).
package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"
)

// exitError carries a process exit code; msg, when set, is printed first.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// Execute runs seccompctl with args and returns the process exit code:
// 0 success, 1 a failed check (invalid profile, ...), 2 a usage or load error,
// or the exit code of the command given to `run`.
func Execute(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd(stdin, stdout, stderr)
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(stderr, "seccompctl:", ee.msg)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "seccompctl:", err)
	return 2
}

type options struct {
	output string
	stdin  io.Reader
}

func newRootCmd(stdin io.Reader, stdout, stderr io.Writer) *cobra.Command {
	o := &options{stdin: stdin}
	root := &cobra.Command{
		Use:           "seccompctl",
		Short:         "Write, test and debug seccomp profiles",
		Long:          "seccompctl validates, compiles, simulates, diffs and converts seccomp profiles, and runs commands under them.\nA profile argument is a file (OCI seccomp JSON or a SeccompProfile YAML) or a predefined profile name.",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			switch o.output {
			case "human", "json", "yaml":
				return nil
			}
			return fmt.Errorf("unknown output format %q: use human, json or yaml", o.output)
		},
	}
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVarP(&o.output, "output", "o", "human", "output format: human, json or yaml")
	root.AddCommand(
		newValidateCmd(o), newCompileCmd(o), newSimulateCmd(o), newDiffCmd(o),
		newConvertCmd(o), newProfilesCmd(o), newRunCmd(o), newAuditCmd(o), newExplainCmd(o), newInspectCmd(o), newRecordCmd(o), newCheckCmd(o),
	)
	return root
}

// emit writes v as JSON or YAML when asked for, else calls human.
func (o *options) emit(w io.Writer, v any, human func()) error {
	switch o.output {
	case "json":
		b, err := json.MarshalIndent(v, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	case "yaml":
		b, err := yaml.Marshal(v)
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
	human()
	return nil
}
