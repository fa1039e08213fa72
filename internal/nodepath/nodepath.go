// Package nodepath is the one place that maps SeccompProfile objects to files
// under a node's kubelet seccomp root. The manager writes the localhostProfile
// value into each profile's status and the agent installs the file at that
// path; both must compute it here so they can never disagree.
//
// Paths come in two forms:
//   - rel: relative to <kubelet-root>/seccomp, with '/' separators. This is
//     exactly what a pod puts in securityContext.seccompProfile.localhostProfile.
//   - abs: <kubelet-root>/seccomp/<rel>, from Abs.
package nodepath

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
)

const (
	// SeccompDir is the kubelet's seccomp profile root below its root dir.
	SeccompDir = "seccomp"
	// OperatorDir holds one file per SeccompProfile; the whole directory
	// belongs to the operator, so the agent may remove files it finds there.
	OperatorDir = "operator"
	// PredefinedDir holds the predefined profiles under the file names of
	// shared/spec/predefined-profiles.md, the paths pod specs already use.
	PredefinedDir = "profiles/kubernetes"
	// Ext is the extension of every installed profile.
	Ext = ".json"
)

// isDNS1123Subdomain reports whether s is a DNS-1123 subdomain name. A
// SeccompProfile is a cluster-scoped object, so the apiserver only admits
// such names; accepting exactly that set keeps a name from ever naming a
// hidden file, a parent directory or a nested path.
//
// It matches ^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$
// by hand: the agent checks every managed path on every pass, and the
// regular expression was an eighth of a pass over 1000 unchanged profiles.
// (FuzzValidateName holds it to the expression.)
func isDNS1123Subdomain(s string) bool {
	start := 0 // start of the current label
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] != '.' {
			c := s[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
			continue
		}
		// A label is s[start:i]: non-empty, alphanumeric at both ends.
		if i == start || s[start] == '-' || s[i-1] == '-' {
			return false
		}
		start = i + 1
	}
	return true
}

// ValidateName reports whether name can be a profile file name: a DNS-1123
// subdomain of at most 253 characters (so no '/', no "..", no leading '.').
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("profile name: must not be empty")
	}
	if len(name) > 253 {
		return fmt.Errorf("profile name %q: longer than 253 characters", name)
	}
	if !isDNS1123Subdomain(name) {
		return fmt.Errorf("profile name %q: must be a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)", name)
	}
	return nil
}

// ProfilePath returns the localhostProfile value of the profile called name:
// "operator/<name>.json". It panics on a name ValidateName rejects: names come
// from API objects the apiserver already validated, so an invalid one is a
// programming error, and returning a path for it could point outside the root.
func ProfilePath(name string) string {
	if err := ValidateName(name); err != nil {
		panic("nodepath.ProfilePath: " + err.Error())
	}
	return OperatorDir + "/" + name + Ext
}

// NameOf is the inverse of ProfilePath: the profile name of rel, and whether
// rel is a profile path at all (a file directly in OperatorDir whose name is a
// valid profile name plus Ext).
func NameOf(rel string) (string, bool) {
	base, ok := strings.CutPrefix(rel, OperatorDir+"/")
	if !ok {
		return "", false
	}
	name, ok := strings.CutSuffix(base, Ext)
	if !ok || ValidateName(name) != nil {
		return "", false
	}
	return name, true
}

// ValidateFile reports whether file can be a predefined profile's file name:
// a single path element ending in Ext, not hidden.
func ValidateFile(file string) error {
	switch {
	case file == "":
		return fmt.Errorf("predefined profile file: must not be empty")
	case strings.ContainsAny(file, "/\\\x00"):
		return fmt.Errorf("predefined profile file %q: must be a single file name", file)
	case strings.HasPrefix(file, "."):
		return fmt.Errorf("predefined profile file %q: must not start with '.'", file)
	case !strings.HasSuffix(file, Ext) || len(file) == len(Ext):
		return fmt.Errorf("predefined profile file %q: must end in %s", file, Ext)
	}
	return nil
}

// PredefinedAliasPath returns the second path a predefined profile is
// installed at: "profiles/kubernetes/<file>". It panics on a file
// ValidateFile rejects (the files are compiled-in constants).
func PredefinedAliasPath(file string) string {
	if err := ValidateFile(file); err != nil {
		panic("nodepath.PredefinedAliasPath: " + err.Error())
	}
	return PredefinedDir + "/" + file
}

// ValidateRel reports whether rel is a clean relative path that stays inside
// the seccomp root: not empty, not absolute, no "." or ".." element, no empty
// element, no hidden element (the agent keeps its temporary files hidden).
func ValidateRel(rel string) error {
	if rel == "" {
		return fmt.Errorf("profile path: must not be empty")
	}
	if strings.ContainsAny(rel, "\\\x00") {
		return fmt.Errorf("profile path %q: contains '\\' or NUL", rel)
	}
	if path.IsAbs(rel) {
		return fmt.Errorf("profile path %q: must be relative to the seccomp root", rel)
	}
	for el := range strings.SplitSeq(rel, "/") { // no allocation: agents check every path on every pass
		if el == "" || strings.HasPrefix(el, ".") {
			return fmt.Errorf("profile path %q: element %q is empty, \".\", \"..\" or hidden", rel, el)
		}
	}
	return nil
}

// Abs returns <kubeletRoot>/seccomp/<rel> in the OS's form. It panics on a
// rel ValidateRel rejects, since such a path could escape the seccomp root.
func Abs(kubeletRoot, rel string) string {
	if err := ValidateRel(rel); err != nil {
		panic("nodepath.Abs: " + err.Error())
	}
	return filepath.Join(kubeletRoot, SeccompDir, filepath.FromSlash(rel))
}

// SeccompRoot returns <kubeletRoot>/seccomp.
func SeccompRoot(kubeletRoot string) string {
	return filepath.Join(kubeletRoot, SeccompDir)
}
