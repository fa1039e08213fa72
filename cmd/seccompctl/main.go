// Command seccompctl validates, compiles, simulates, diffs and converts
// seccomp profiles, and runs commands under them.
package main

import (
	"os"

	"github.com/seccomp-operator/seccomp-operator/internal/cli"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
)

func main() {
	// In the re-executed child of `seccompctl run` this installs the filter
	// and execs the command; it never returns there.
	filter.MaybeRunChild()
	os.Exit(cli.Execute(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
