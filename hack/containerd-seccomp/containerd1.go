//go:build !containerd2

package main

import seccomp "github.com/containerd/containerd/contrib/seccomp"

var (
	defaultProfile = seccomp.DefaultProfile
	genSet         = seccomp.GenSet
	genQueried     = seccomp.GenQueried
)
