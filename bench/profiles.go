// Package bench measures the compiled programs: instructions executed per
// syscall against libseccomp (cgo, build tag libseccomp), compile time, and
// the real cost of a syscall under the filter (docs/benchmarks.md).
package bench

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// Host is the native ABI every program here is compiled for.
const Host = "x86_64"

// Named is a resolved profile and where it came from.
type Named struct {
	Name    string
	Profile *profile.Profile
}

// runtimeDefaults name the runtime defaults (package runtimedefault) the
// benchmarks of docs/benchmarks.md measure.
var runtimeDefaults = []struct{ name, ref string }{
	{"docker-default", "docker@v0.2.4"},
	{"containerd-default", "containerd@v2.4.2"},
	{"crio-default", "crio@v0.50.1"},
}

// RuntimeDefault loads and resolves a runtime's default profile for Host
// with Docker's default capabilities; dir is unused (the data is embedded)
// and kept for the callers.
func RuntimeDefault(dir, name string) (*profile.Profile, error) {
	for _, r := range runtimeDefaults {
		if r.name != name {
			continue
		}
		d, err := runtimedefault.Get(r.ref)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		p, err := profile.Parse(d.Data())
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", name, err)
		}
		return profile.Resolve(p, profile.DefaultEnv(Host))
	}
	return nil, fmt.Errorf("unknown runtime default %q", name)
}

// Profiles returns the predefined profiles then the runtime defaults.
func Profiles(dir string) ([]Named, error) {
	var out []Named
	for _, p := range predefined.All() {
		r, err := profile.Resolve(p.Profile, profile.DefaultEnv(Host))
		if err != nil {
			return nil, fmt.Errorf("resolve %s: %w", p.Name, err)
		}
		out = append(out, Named{p.Name, r})
	}
	for _, d := range runtimeDefaults {
		p, err := RuntimeDefault(dir, d.name)
		if err != nil {
			return nil, err
		}
		out = append(out, Named{d.name, p})
	}
	return out, nil
}

// Workload is a syscall the proof workloads make and how often.
type Workload struct {
	Name  string
	Count int
}

// LoadWorkload reads bench/testdata/workload-syscalls.txt ("name count"
// per line, '#' comments).
func LoadWorkload(file string) ([]Workload, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("workload syscalls: %w", err)
	}
	defer f.Close()
	var out []Workload
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		var w Workload
		if _, err := fmt.Sscan(line, &w.Name, &w.Count); err != nil {
			return nil, fmt.Errorf("workload syscalls: line %q: %w", line, err)
		}
		out = append(out, w)
	}
	return out, sc.Err()
}

// yes renders whether a target is met, for the markdown tables.
func yes(ok bool) string {
	if ok {
		return "yes"
	}
	return "**no**"
}
