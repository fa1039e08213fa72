package agent

import "github.com/seccomp-operator/seccomp-operator/internal/nodepath"

// profilePath is nodepath.ProfilePath of the tests' own, valid, names.
func profilePath(name string) string {
	rel, err := nodepath.ProfilePath(name)
	if err != nil {
		panic(err)
	}
	return rel
}
