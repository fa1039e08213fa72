package podprofile

import (
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// DeclaredNodeDefault is the declared form of a container whose pod sets
// no profile anywhere: the node's default applies.
const DeclaredNodeDefault = "NodeDefault"

// declaredLocalhostPrefix starts the declared form of a Localhost profile;
// the type's own spelling, unlike the legacy annotation's "localhost/".
const declaredLocalhostPrefix = string(corev1.SeccompProfileTypeLocalhost) + "/"

// Declared is the one written form of a resolved profile: what the node
// state's containers carry (ContainerSeccompState.Declared) and what
// reports show. RuntimeDefault, Unconfined, Localhost/<path>, or
// NodeDefault when the pod declares none. The agent writes it and the CLI
// reads it back (ParseDeclared), so both call this one function.
func (r Ref) Declared() string {
	switch r.Type {
	case "":
		return DeclaredNodeDefault
	case corev1.SeccompProfileTypeLocalhost:
		return declaredLocalhostPrefix + r.LocalhostProfile
	}
	return string(r.Type)
}

// ParseDeclared reads Declared's form back into a Ref. The form does not
// keep where a profile was declared, so Source is SourceNodeDefault for
// NodeDefault and empty otherwise. ok is false for text not in the form
// (a node state written by something else than the agent).
func ParseDeclared(s string) (Ref, bool) {
	switch {
	case s == DeclaredNodeDefault:
		return Ref{Source: SourceNodeDefault}, true
	case s == string(corev1.SeccompProfileTypeRuntimeDefault), s == string(corev1.SeccompProfileTypeUnconfined):
		return Ref{Type: corev1.SeccompProfileType(s)}, true
	case strings.HasPrefix(s, declaredLocalhostPrefix):
		return Ref{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: strings.TrimPrefix(s, declaredLocalhostPrefix)}, true
	}
	return Ref{}, false
}

// Declaration is what a pod declares about one container's seccomp, as the
// node state's containers and the unconfined report carry it.
type Declaration struct {
	// Declared is the effective profile's written form (Ref.Declared).
	Declared string
	// Profile is the SeccompProfile whose node file the Localhost path is
	// (nodepath.NameOf), empty for any other profile.
	Profile string
	// Privileged: the runtime installs no filter for the container,
	// whatever it declares.
	Privileged bool
}

// Declare resolves the named container's Declaration: the one rule the
// enricher (writing the node state) and the CLI (containers no agent has
// reported) both follow.
func Declare(pod *corev1.Pod, container string) Declaration {
	ref := Effective(pod, container)
	d := Declaration{Declared: ref.Declared()}
	if ref.Type == corev1.SeccompProfileTypeLocalhost {
		d.Profile, _ = nodepath.NameOf(ref.LocalhostProfile)
	}
	if sc := containerContext(pod, container); sc != nil && sc.Privileged != nil {
		d.Privileged = *sc.Privileged
	}
	return d
}
