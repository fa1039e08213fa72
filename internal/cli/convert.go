package cli

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func newConvertCmd(o *options) *cobra.Command {
	var to, name string
	var nameFlag string
	cmd := &cobra.Command{
		Use:   "convert PROFILE [--to json|crd] [--name NAME]",
		Short: "Convert between OCI seccomp JSON and a SeccompProfile object (YAML)",
		Long: "JSON in gives a SeccompProfile YAML, a SeccompProfile gives OCI JSON, unless --to says otherwise.\n" +
			"Docker's conditional rules (includes/excludes, archMap) are resolved for a default container first:\n" +
			"a SeccompProfile holds resolved rules only.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			nameFlag = name
			src, err := loadProfile(args[0], o.stdin)
			if err != nil {
				return err
			}
			if to == "" {
				to = "crd"
				if src.CRD != nil {
					to = "json"
				}
			}
			out := cmd.OutOrStdout()
			switch to {
			case "json":
				b, err := profile.Marshal(src.Profile)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			case "crd", "yaml":
				if name == "" {
					name = objectName(src)
				}
				// The name becomes the node's file name (operator/<name>.json):
				// the one rule the apiserver's objects and the agents obey.
				if err := nodepath.ValidateName(name); err != nil {
					if nameFlag == "" {
						return fmt.Errorf("%w: the name derived from %s is not usable, give one with --name", err, src.Name)
					}
					return fmt.Errorf("--name: %w", err)
				}
				b, err := crdYAML(name, src.Profile)
				if err != nil {
					return err
				}
				_, err = out.Write(b)
				return err
			}
			return fmt.Errorf("unknown --to %q: use json or crd", to)
		},
	}
	cmd.Flags().StringVar(&to, "to", "", "json or crd (default: the other format)")
	cmd.Flags().StringVar(&name, "name", "", "metadata.name of the SeccompProfile (default: from the file name)")
	return cmd
}

// crdYAML is the SeccompProfile object (YAML) named name that holds p: the
// CRD form convert and record write. A plain object: a typed SeccompProfile
// would also print an empty status and creationTimestamp.
func crdYAML(name string, p *profile.Profile) ([]byte, error) {
	return yaml.Marshal(struct {
		APIVersion string                      `json:"apiVersion"`
		Kind       string                      `json:"kind"`
		Metadata   map[string]string           `json:"metadata"`
		Spec       v1alpha1.SeccompProfileSpec `json:"spec"`
	}{v1alpha1.GroupVersion.String(), "SeccompProfile", map[string]string{"name": name}, v1alpha1.SpecFromProfile(p)})
}

// objectName derives a DNS-subdomain-shaped name from the input.
func objectName(src *profilefile.Source) string {
	if src.CRD != nil {
		return src.CRD.Name
	}
	n := strings.TrimSuffix(filepath.Base(src.Name), filepath.Ext(src.Name))
	n = strings.ToLower(n)
	n = strings.Map(func(r rune) rune {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, n)
	return strings.Trim(n, "-.")
}
