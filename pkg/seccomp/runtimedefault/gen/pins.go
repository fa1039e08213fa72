package main

// The pinned sources. containerd's versions are pinned by the module files
// hack/containerd-seccomp/containerd-<version>.mod (with their .sum), one per
// version: each is the go.mod that builds containerd's own code at that
// version. Add a version there (`go get -modfile=containerd-vX.Y.Z.mod
// github.com/containerd/containerd[/v2]/contrib/seccomp@vX.Y.Z` in that
// directory) and run `make generate`. Held: v1.6.20 (Debian 12's), and the
// newest of each later line: v1.7.35, v2.0.13, v2.1.9, v2.2.10, v2.3.7,
// v2.4.2. The last three build the same default; each line is held so that
// runtimedefault.Nearest finds a node's own line.

// mobyModule holds Docker's default profile as data (default.json).
const mobyModule = "github.com/moby/profiles/seccomp"

// mobyVersions are the versions of mobyModule on the Go module proxy whose
// default.json differ from each other (v0.1.0, v0.2.3, v0.2.4 and v0.3.0
// all do: socket families, loong64, ...).
var mobyVersions = []string{"v0.1.0", "v0.2.3", "v0.2.4", "v0.3.0"}

// crioDebianPackage ships containers/common's source, seccomp.json included;
// hack/crio-profile.sh extracts it. Debian 12 has one version of it; the
// generator fails when apt offers another, so that a changed source is
// noticed and this pin moved on purpose.
const (
	crioDebianPackage = "golang-github-containers-common-dev"
	crioDebianVersion = "0.50.1+ds1-4"
	// crioVersion is the containers/common release that Debian version is.
	crioVersion = "v0.50.1"
)
