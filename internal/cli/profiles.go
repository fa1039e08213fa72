package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func newProfilesCmd(o *options) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profiles",
		Short: "List the predefined profiles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			type row struct {
				Name        string   `json:"name"`
				File        string   `json:"file"`
				Description string   `json:"description"`
				MustDeny    []string `json:"mustDeny"`
			}
			var rows []row
			for _, p := range predefined.All() {
				rows = append(rows, row{p.Name, p.File, p.Description, p.MustDeny})
			}
			out := cmd.OutOrStdout()
			return o.emit(out, rows, func() {
				for _, r := range rows {
					fmt.Fprintf(out, "%-11s %-38s %s\n", r.Name, r.File, firstLine(r.Description))
				}
			})
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a predefined profile as OCI seccomp JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, ok := predefined.Get(args[0])
			if !ok {
				return fmt.Errorf("unknown predefined profile %q (%s)", args[0], strings.Join(predefined.Names(), ", "))
			}
			b, err := profile.Marshal(p.Profile)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(b)
			return err
		},
	})
	return cmd
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
