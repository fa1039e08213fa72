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

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
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
	// DryRunPath is the dry-run profile every agent installs: its node's
	// runtime default with every refusal turned into SCMP_ACT_LOG
	// (internal/seccompdefault.DryRunProfile). The same path on every
	// node, so that one SeccompPolicy defaulting namespaces to it
	// dry-runs RuntimeDefault cluster-wide. Outside OperatorDir: it is no
	// SeccompProfile's file, and admission's installed check (which reads
	// every operator/<name>.json as a SeccompProfile) must not refuse the
	// pods that use it.
	DryRunPath = "operator-dryrun/runtime-default.json"
)

// ValidateName reports whether name can be a profile file name: a DNS-1123
// subdomain of at most 253 characters (so no '/', no "..", no leading '.').
//
// The rule is apimachinery's NameIsDNSSubdomain, the apiserver's own rule
// for the names of these objects, and the function behind the CEL
// format.dns1123Subdomain() that the CRD schemas use for every field that
// names a SeccompProfile: one written form, so a name the API admits is a
// name this package accepts, and the reverse.
func ValidateName(name string) error {
	if name == "" {
		return fmt.Errorf("profile name: must not be empty")
	}
	if errs := apivalidation.NameIsDNSSubdomain(name, false); len(errs) > 0 {
		return fmt.Errorf("profile name %q: %s", name, strings.Join(errs, "; "))
	}
	return nil
}

// ValidatePrefix reports whether prefix can start a profile name in a
// pattern ("team-a-*"): apimachinery's rule for metadata.generateName
// prefixes, behind the CEL format.dns1123SubdomainPrefix() of the CRD.
func ValidatePrefix(prefix string) error {
	if prefix == "" {
		return fmt.Errorf("profile name prefix: must not be empty")
	}
	if errs := apivalidation.NameIsDNSSubdomain(prefix, true); len(errs) > 0 {
		return fmt.Errorf("profile name prefix %q: %s", prefix, strings.Join(errs, "; "))
	}
	return nil
}

// ProfilePath returns the localhostProfile value of the profile called name:
// "operator/<name>.json", or ValidateName's error: a path for such a name
// could point outside the root. Names reach it from objects the apiserver
// stored, some under older, looser schemas, so it is an error, not a panic.
func ProfilePath(name string) (string, error) {
	if err := ValidateName(name); err != nil {
		return "", err
	}
	return OperatorDir + "/" + name + Ext, nil
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
