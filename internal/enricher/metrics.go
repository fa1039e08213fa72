package enricher

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// Results of a record (seccomp_operator_agent_audit_records_total).
const (
	ResultRead         = "read"
	ResultMalformed    = "malformed"
	ResultAttributed   = "attributed"
	ResultUnattributed = "unattributed"
	// ResultProbe: an attributed record of a syscall C libraries probe
	// and fall back from (recording.ENOSYSProbes, clone3) that the
	// container's profile answers ENOSYS on purpose, as learned profiles
	// do (Probes): not a violation, but counted.
	ResultProbe = "probe"
)

// Reasons a record is not attributed
// (seccomp_operator_agent_audit_unattributed_total).
const (
	// ReasonNoProcess: the process was gone before it was looked up and
	// the lookup's cache does not remember it.
	ReasonNoProcess = "no_process"
	// ReasonNotContainer: a process of the host, in no container.
	ReasonNotContainer = "not_container"
	// ReasonNoPod: a container that belongs to no pod on this node as the
	// pod watch knows it (a container the kubelet did not start, or a pod
	// whose status has not named the container yet).
	ReasonNoPod = "no_pod"
)

// Reasons records are lost (seccomp_operator_agent_audit_records_lost_total).
const (
	LostSocketOverrun = "socket_overrun"
	LostKernel        = "kernel"
	LostMalformed     = "malformed_message"
)

var (
	violations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_violations_total",
		Help: "Seccomp records of containers on this node: syscalls a profile denied (action errno, kill_process, kill_thread, trap, …) or would deny (log: complain mode), by pod, container, the container's profile and the syscall named in the record's own architecture. Series of deleted pods are dropped.",
	}, []string{"namespace", "pod", "container", "profile", "syscall", "action"})
	records = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_audit_records_total",
		Help: "Seccomp audit records the agent read, by result: read (every one), malformed (skipped), attributed (counted in seccomp_violations_total), unattributed (see seccomp_operator_agent_audit_unattributed_total), probe (ENOSYS answered on purpose to a syscall libc falls back from, such as clone3: not a violation).",
	}, []string{"result"})
	unattributed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_audit_unattributed_total",
		Help: "Seccomp records the agent could not attribute to a pod's container, by reason: no_process, not_container, no_pod.",
	}, []string{"reason"})
	containersGauge = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_containers",
		Help: "Running containers of pods on this node by namespace and the real seccomp mode of their processes (Disabled, Strict, Filter, Unknown), from /proc.",
	}, []string{"namespace", "mode"})
	eventWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_event_writes_total",
		Help: "Writes of violation Events to the apiserver (create, update), and aggregated updates dropped for the per-node budget (dropped).",
	}, []string{"op"})
	stateWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_kernel_state_writes_total",
		Help: "Writes of the containers' kernel state and the record source's state to the node's SeccompNodeStatus (on change only).",
	})
)

func init() {
	nodekube.Registry.MustRegister(violations, records, unattributed, containersGauge, eventWrites, stateWrites)
	for _, r := range []string{ResultRead, ResultMalformed, ResultAttributed, ResultUnattributed, ResultProbe} {
		records.WithLabelValues(r)
	}
	for _, r := range []string{ReasonNoProcess, ReasonNotContainer, ReasonNoPod} {
		unattributed.WithLabelValues(r)
	}
}

// lostCollector exports the source's lost counters as
// seccomp_operator_agent_audit_records_lost_total, read at scrape time.
type lostCollector struct {
	stats func() SourceStats
	desc  *prometheus.Desc
}

func newLostCollector(stats func() SourceStats) *lostCollector {
	return &lostCollector{stats: stats, desc: prometheus.NewDesc("seccomp_operator_agent_audit_records_lost_total",
		"Seccomp records lost before the agent could read them, by reason: socket_overrun (the netlink socket's buffer overflowed, ENOBUFS), malformed_message (a netlink message that could not be framed), kernel (growth of the kernel audit's own lost counter since the agent started; absent when the agent cannot read it).",
		[]string{"reason"}, nil)}
}

func (c *lostCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *lostCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(st.Overruns), LostSocketOverrun)
	ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(st.Malformed), LostMalformed)
	if st.KernelLostKnown {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.CounterValue, float64(st.KernelLost), LostKernel)
	}
}
