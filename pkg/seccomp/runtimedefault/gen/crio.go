package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// crioDefaults copies CRI-O's seccomp.json from Debian's package, byte for
// byte, through hack/crio-profile.sh (which fetches and caches the .deb).
func crioDefaults(root, out string) ([]entry, error) {
	cmd := exec.Command(filepath.Join(root, "hack", "crio-profile.sh"))
	cmd.Stderr = os.Stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("crio: hack/crio-profile.sh: %w", err)
	}
	path := strings.TrimSpace(string(b))
	ver, err := crioPackageVersion(path)
	if err != nil {
		return nil, err
	}
	if ver != crioDebianVersion {
		return nil, fmt.Errorf("crio: apt offers %s %s, the pin is %s: check what changed in its seccomp.json, then move the pin in gen/pins.go",
			crioDebianPackage, ver, crioDebianVersion)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("crio: %w", err)
	}
	arches, err := archMapArches(data)
	if err != nil {
		return nil, fmt.Errorf("crio: %w", err)
	}
	file, err := writeFile(out, "crio", crioVersion, data)
	if err != nil {
		return nil, err
	}
	return []entry{{Runtime: "crio", Version: crioVersion, File: file, Arches: arches,
		Origin: fmt.Sprintf("pkg/seccomp/seccomp.json of containers/common %s (Apache-2.0) as shipped in Debian's %s %s, unchanged; the Go module is not on the module proxy",
			crioVersion, crioDebianPackage, crioDebianVersion)}}, nil
}

// crioPackageVersion tells which package version path came from: the
// installed package's, or the version directory of hack/crio-profile.sh's
// cache.
func crioPackageVersion(path string) (string, error) {
	if strings.HasPrefix(path, "/usr/share/gocode/") {
		b, err := exec.Command("dpkg-query", "-W", "-f=${Version}", crioDebianPackage).Output()
		if err != nil {
			return "", fmt.Errorf("crio: dpkg-query %s: %w", crioDebianPackage, err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return filepath.Base(filepath.Dir(path)), nil
}
