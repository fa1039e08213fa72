// Package enricher is the node agent's second role: it reads the kernel's
// seccomp records (a Source), attributes each to its container, pod and
// declared profile, and reports them as the metric
// seccomp_violations_total, as aggregated Events on the pod, and, from
// /proc, every running container's real seccomp mode in the node's
// SeccompNodeStatus.
//
// It shares the node's kube plumbing (internal/nodekube: the pod and node
// state informers, the metrics registry) with the installer, and knows
// nothing of it: cmd/agent wires both roles into one process.
package enricher
