// Command containerd-seccomp runs containerd's own DefaultProfile (package
// contrib/seccomp of a pinned containerd version) for the architectures,
// capability sets and kernel versions it is asked for, and prints each
// result as JSON. It is run only by pkg/seccomp/runtimedefault/gen, which
// builds it with go -modfile (the containerd version) and -overlay: the
// overlay replaces containerd's runtime.GOARCH and its kernel-version probe
// by the variables of hooks it adds to the package (see that generator), so
// that one host can ask what containerd gives on arm64 or on an old kernel.
// Nothing here decides what the profile holds: containerd's code does.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// request is one DefaultProfile call: GOARCH, bounding capabilities, and the
// kernel release as [kernel, major] (nil: the version cannot be read).
type request struct {
	GOARCH string     `json:"goarch"`
	Caps   []string   `json:"caps"`
	Kernel *[2]uint64 `json:"kernel"`
}

type response struct {
	request
	Profile *specs.LinuxSeccomp `json:"profile"`
	// Thresholds are the kernel versions DefaultProfile compared with.
	Thresholds [][2]uint64 `json:"thresholds"`
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		fmt.Fprintln(os.Stderr, "containerd-seccomp: read requests:", err)
		os.Exit(1)
	}
	out := make([]response, 0, len(reqs))
	for _, r := range reqs {
		genSet(r.GOARCH, r.Kernel)
		caps := append([]string{}, r.Caps...)
		spec := &specs.Spec{Process: &specs.Process{Capabilities: &specs.LinuxCapabilities{
			Bounding: caps, Effective: caps, Permitted: caps,
		}}}
		p := defaultProfile(spec)
		out = append(out, response{request: r, Profile: p, Thresholds: genQueried()})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "containerd-seccomp: write:", err)
		os.Exit(1)
	}
}
