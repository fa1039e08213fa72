package profilefile

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

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
