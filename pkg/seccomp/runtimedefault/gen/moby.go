package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// mobyDefaults copies default.json of each pinned moby/profiles version,
// byte for byte.
func mobyDefaults(root, out string) ([]entry, error) {
	var es []entry
	for _, v := range mobyVersions {
		dir, err := moduleDir(root, "", mobyModule, v)
		if err != nil {
			return nil, err
		}
		data, err := os.ReadFile(filepath.Join(dir, "default.json"))
		if err != nil {
			return nil, fmt.Errorf("docker %s: %w", v, err)
		}
		arches, err := archMapArches(data)
		if err != nil {
			return nil, fmt.Errorf("docker %s: %w", v, err)
		}
		file, err := writeFile(out, "docker", v, data)
		if err != nil {
			return nil, err
		}
		es = append(es, entry{Runtime: "docker", Version: v, File: file, Arches: arches,
			Origin: fmt.Sprintf("default.json of Go module %s %s (Apache-2.0), unchanged", mobyModule, v)})
	}
	return es, nil
}

// moduleDir downloads module@version through the Go module proxy and
// returns its directory in the module cache. modfile, when set, is the
// go.mod (go -modfile) whose requirement gives the version.
func moduleDir(dir, modfile, module, version string) (string, error) {
	args := []string{"mod", "download", "-json"}
	target := module + "@" + version
	if modfile != "" {
		args = append(args, "-modfile="+modfile)
		target = module
	}
	b, err := goCmd(dir, nil, append(args, target)...)
	if err != nil {
		return "", err
	}
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(b, &m); err != nil {
		return "", fmt.Errorf("go mod download %s: %w", target, err)
	}
	if m.Error != "" || m.Dir == "" {
		return "", fmt.Errorf("go mod download %s: %s", target, m.Error)
	}
	return m.Dir, nil
}

// archMapArches returns the native architectures of a profile's archMap,
// as GOARCH names where Go has one.
func archMapArches(data []byte) ([]string, error) {
	p, err := profile.Parse(data)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, m := range p.ArchMap {
		out = append(out, goarchName(m.Arch))
	}
	sort.Strings(out)
	return out, nil
}
