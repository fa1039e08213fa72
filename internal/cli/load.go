package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// source is a profile as read, before Docker conditionals are resolved.
type source struct {
	Name    string
	Profile *profile.Profile
	// Notes are parse-time notes (unknown JSON fields).
	Notes profile.Issues
	// CRD is set when the input was a SeccompProfile object.
	CRD *v1alpha1.SeccompProfile
}

// readProfile reads arg: a file (OCI/Docker/CRI-O JSON or SeccompProfile
// YAML) or the name of a predefined profile.
func readProfile(arg string) (*source, error) {
	data, err := os.ReadFile(arg)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read profile %s: %w", arg, err)
		}
		if p, ok := predefined.Get(arg); ok {
			return &source{Name: p.Name, Profile: p.Profile.DeepCopy()}, nil
		}
		return nil, fmt.Errorf("unknown profile %q: not a file and not a predefined profile (%s)", arg, strings.Join(predefined.Names(), ", "))
	}
	if isCRD(data) {
		var obj v1alpha1.SeccompProfile
		if err := yaml.UnmarshalStrict(data, &obj); err != nil {
			return nil, fmt.Errorf("read SeccompProfile %s: %w", arg, err)
		}
		p := obj.Spec.ToProfile()
		if b := obj.Spec.BaseProfileName; b != "" {
			if p, err = flattenOnPredefined(obj.Name, b, p); err != nil {
				return nil, fmt.Errorf("read SeccompProfile %s: %w", arg, err)
			}
		}
		return &source{Name: obj.Name, Profile: p, CRD: &obj}, nil
	}
	p, notes, err := profile.ParseStrict(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", arg, err)
	}
	return &source{Name: arg, Profile: p, Notes: notes}, nil
}

// flattenOnPredefined flattens a file's profile whose base is a predefined
// profile: outside a cluster those are the only bases seccompctl can see.
func flattenOnPredefined(name, base string, p *profile.Profile) (*profile.Profile, error) {
	return profile.Flatten(name, func(n string) (profile.Node, bool) {
		if n == name {
			return profile.Node{Name: name, Base: base, Profile: p}, true
		}
		if pre, ok := predefined.Get(n); ok {
			return profile.Node{Name: n, Profile: pre.Profile}, true
		}
		return profile.Node{}, false
	})
}

func isCRD(data []byte) bool {
	t := bytes.TrimSpace(data)
	return !bytes.HasPrefix(t, []byte("{")) && bytes.Contains(data, []byte("kind: SeccompProfile"))
}

// loadProfile reads arg and resolves Docker's conditional rules for a
// default container on the host (Docker's default capabilities, this kernel).
func loadProfile(arg string) (*source, error) {
	src, err := readProfile(arg)
	if err != nil {
		return nil, err
	}
	r, err := profile.Resolve(src.Profile, profile.DefaultEnv(hostArch()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	src.Profile = r
	return src, nil
}

// hostArch is the native ABI name of this machine ("x86_64").
func hostArch() string {
	if a, ok := syscalls.Get(runtime.GOARCH); ok {
		return a.Name
	}
	return runtime.GOARCH
}
