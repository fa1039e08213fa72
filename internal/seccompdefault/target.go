package seccompdefault

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/defaultcheck"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// Target is the runtime default a node's containers would get, and the
// node facts that resolve its conditions.
type Target struct {
	Node string `json:"node"`
	// RuntimeVersion is the node's containerRuntimeVersion as reported.
	RuntimeVersion string `json:"runtimeVersion,omitempty"`
	// Against is the default compared with ("containerd@v1.6.20"); empty
	// when none is known (Problem says why).
	Against string `json:"against,omitempty"`
	// Note says how Against was chosen when it is not the node's exact
	// runtime version.
	Note string `json:"note,omitempty"`
	// Problem says why there is no default to compare with.
	Problem string `json:"problem,omitempty"`
	// Arch and Kernel are the node's (nodeInfo.architecture,
	// kernelVersion); empty when not known.
	Arch   string `json:"arch,omitempty"`
	Kernel string `json:"kernel,omitempty"`

	def     runtimedefault.Default
	profile *profile.Profile
}

// criRuntimes maps the scheme of containerRuntimeVersion to the runtime
// whose default the package holds.
var criRuntimes = map[string]string{
	"containerd": runtimedefault.Containerd,
	"cri-o":      runtimedefault.CRIO,
	"docker":     runtimedefault.Docker,
}

// NodeTarget is the default node's runtime applies: from
// nodeInfo.containerRuntimeVersion ("containerd://1.6.20" →
// containerd@v1.6.20, a version not held → the nearest one held:
// runtimedefault.Nearest, said in Note), or override ("containerd", "docker@v0.3.0") when not empty.
// node may be nil (not found): then only override can name a default.
func NodeTarget(name string, node *corev1.Node, override string) Target {
	t := Target{Node: name}
	if node != nil {
		t.RuntimeVersion = node.Status.NodeInfo.ContainerRuntimeVersion
		t.Arch = node.Status.NodeInfo.Architecture
		t.Kernel = node.Status.NodeInfo.KernelVersion
	}
	var err error
	switch {
	case override != "":
		t.def, err = runtimedefault.Get(override)
		if err == nil && t.RuntimeVersion != "" {
			t.Note = "--runtime " + override + " (node runs " + t.RuntimeVersion + ")"
		}
	case node == nil:
		err = fmt.Errorf("node %s not found: give --runtime", name)
	default:
		t.def, err = nodeDefault(t.RuntimeVersion, &t.Note)
	}
	if err == nil {
		_, t.profile, err = defaultcheck.Load(t.def.Ref())
	}
	if err != nil {
		t.Problem = err.Error()
		return t
	}
	t.Against = t.def.Ref()
	return t
}

func nodeDefault(rv string, note *string) (runtimedefault.Default, error) {
	scheme, version, ok := strings.Cut(rv, "://")
	rt, known := criRuntimes[scheme]
	switch {
	case !ok || rv == "":
		return runtimedefault.Default{}, fmt.Errorf("runtime %q not understood: give --runtime", rv)
	case !known:
		return runtimedefault.Default{}, fmt.Errorf("runtime %s: no default held for it (held: %s): give --runtime", scheme, strings.Join(runtimedefault.Runtimes(), ", "))
	case rt != runtimedefault.Containerd:
		// CRI-O's and Docker's defaults are versioned by the module they
		// come from, not by the runtime's release: the newest held.
		d, err := runtimedefault.Get(rt)
		*note = fmt.Sprintf("%s: the default of %s, the newest held (its versions are not the runtime's)", rv, d.Ref())
		return d, err
	}
	d, exact, err := runtimedefault.Nearest(rt, version)
	if err != nil {
		return d, fmt.Errorf("%s: %w: give --runtime", rv, err)
	}
	if !exact {
		*note = fmt.Sprintf("%s is not held: compared with %s, the nearest held (its release line's, else the newest older)", rv, d.Ref())
	}
	return d, nil
}
