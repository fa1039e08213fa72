// This go.mod only marks the module root: every build goes through one of
// the containerd-<version>.mod files (go -modfile), one per pinned containerd
// version, since one go.mod cannot require two versions of a module.
module github.com/seccomp-operator/seccomp-operator/hack/containerd-seccomp

go 1.26.8
