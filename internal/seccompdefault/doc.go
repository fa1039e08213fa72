// Package seccompdefault answers, for the containers of a cluster that run
// without a seccomp profile today, what turning SeccompDefault on (or
// declaring RuntimeDefault) would do to each: safe, breaks on which
// syscalls, or unknown for lack of evidence, and what to do about it. The
// comparison is pkg/seccomp/defaultcheck's; this package adds what needs
// Kubernetes: which runtime default a node's kubelet would apply
// (Node.status.nodeInfo), a container's bounding capabilities from its
// securityContext, and the evidence of what a container does (the
// ProfileRecordings that recorded it and their learned SeccompProfiles).
// It reads no cluster itself: callers (seccompctl audit --seccomp-default,
// later the manager) list the objects and pass them in.
//
// Evidence is a list of kinds, each turned into the profile of what the
// container was seen to use: a recording's syscalls, a learned profile,
// and what it logged under the dry-run profile (its node's runtime default
// with refusals turned into logs, dryrun.go).
package seccompdefault
