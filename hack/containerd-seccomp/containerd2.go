//go:build containerd2

package main

import seccomp "github.com/containerd/containerd/v2/contrib/seccomp"

var (
	defaultProfile = seccomp.DefaultProfile
	genSet         = seccomp.GenSet
	genQueried     = seccomp.GenQueried
)
