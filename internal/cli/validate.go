package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

type validateResult struct {
	Profile string          `json:"profile"`
	Valid   bool            `json:"valid"`
	Error   string          `json:"error,omitempty"`
	Issues  []profile.Issue `json:"issues"`
}

func newValidateCmd(o *options) *cobra.Command {
	return &cobra.Command{
		Use:   "validate PROFILE...",
		Short: "Check profiles and explain every problem (exit 1 if any is invalid)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var results []validateResult
			invalid := 0
			add := func(r validateResult) {
				if !r.Valid {
					invalid++
				}
				results = append(results, r)
			}
			for _, a := range args {
				docs, err := readDocuments(a, o.stdin)
				if err != nil {
					add(validateResult{Profile: a, Issues: []profile.Issue{}, Error: err.Error()})
					continue
				}
				// Every document of a file is a result of its own: a file
				// is valid only when all of its profiles are.
				for _, d := range docs {
					r := validateResult{Profile: d.Name, Issues: []profile.Issue{}}
					if d.Err != nil {
						r.Error = d.Err.Error()
					} else {
						r.Issues = append(append(r.Issues, d.Src.Notes...), profile.Validate(d.Src.Profile)...)
						r.Valid = len(profile.Issues(r.Issues).Errors()) == 0
					}
					add(r)
				}
			}
			out := cmd.OutOrStdout()
			err := o.emit(out, results, func() {
				for _, r := range results {
					if r.Error != "" {
						fmt.Fprintf(out, "%s: cannot be read: %s\n", r.Profile, r.Error)
						continue
					}
					for _, i := range r.Issues {
						fmt.Fprintf(out, "%s: %s: %s\n", r.Profile, i.Severity, i.String())
					}
					errs := len(profile.Issues(r.Issues).Errors())
					if r.Valid {
						fmt.Fprintf(out, "%s: valid (%d notes)\n", r.Profile, len(r.Issues))
					} else {
						fmt.Fprintf(out, "%s: invalid: %d errors, %d notes\n", r.Profile, errs, len(r.Issues)-errs)
					}
				}
			})
			if err != nil {
				return err
			}
			if invalid > 0 {
				return &exitError{code: 1}
			}
			return nil
		},
	}
}
