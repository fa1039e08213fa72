// Command gen writes the predefined profiles as plain OCI seccomp JSON files
// (profiles/kubernetes/<file>) from the YAML sources of package predefined.
// Run it through `go generate ./pkg/seccomp/predefined` (or `make generate`).
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

func main() {
	out := flag.String("out", "profiles/kubernetes", "directory to write the profile files to")
	flag.Parse()
	if err := run(*out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	for _, p := range predefined.All() {
		data, err := predefined.JSON(p.Profile)
		if err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
		f := filepath.Join(dir, p.File)
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", f, err)
		}
	}
	return nil
}
