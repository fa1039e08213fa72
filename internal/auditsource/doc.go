// Package auditsource reads the kernel's seccomp audit records (type 1326)
// losslessly from the audit netlink multicast group, independently of auditd,
// journald and the kernel log (whose printk rate limit drops most records).
// It is node plumbing shared by the node roles: it hands the raw record
// payloads to its caller, who parses them with pkg/seccomp/auditrecord, and
// counts everything it could lose as plain counters the caller exports.
//
// Requirements (measured on a 6.18 kernel, see source_linux_test.go):
//   - CAP_AUDIT_READ to join the group (bind fails with EPERM without it);
//   - the host's (initial) network namespace: the kernel multicasts records
//     only on the initial namespace's audit socket, so a socket in a pod's
//     network namespace joins the group but never receives a record;
//   - CAP_AUDIT_CONTROL, the initial PID namespace and the initial user
//     namespace for the kernel's own counters (AUDIT_GET, Status); without
//     them Status returns ErrStatusUnavailable and the source still works.
package auditsource
