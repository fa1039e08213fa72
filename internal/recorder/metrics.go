package recorder

import (
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// Reasons a kernel entry (a mount namespace's syscalls) is not attributed
// (seccomp_operator_agent_recorder_unattributed_total).
const (
	// ReasonNoProcess: the process the kernel saw in the namespace was
	// gone before it was looked up, and no other process of the namespace
	// ran since (a container that lived less than a harvest).
	ReasonNoProcess = "no_process"
	// ReasonNotContainer: a mount namespace of the host, in no container.
	ReasonNotContainer = "not_container"
	// ReasonNoPod: a container no pod on the node names (one the kubelet
	// did not start), past a grace for the pod's status to name it.
	ReasonNoPod = "no_pod"
)

var (
	attachedGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_recorder_attached",
		Help: "1 while the eBPF recorder's program is attached (a ProfileRecording in mode Recording uses recorder ebpf), else 0.",
	})
	unattributed = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_recorder_unattributed_total",
		Help: "Mount namespaces the eBPF recorder saw syscalls in that the agent could not attribute to a pod's container, each counted once, by reason: no_process (its process exited before the harvest), not_container (the host), no_pod (a container of no pod on the node).",
	}, []string{"reason"})
	mapBytes = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_recorder_map_bytes",
		Help: "Kernel memory of the eBPF recorder's maps (0 when it is not loaded).",
	})
	// lost and dropped are the node state's counters (read at scrape).
	lost, dropped atomic.Int64
	lostCounter   = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_recorder_lost_total",
		Help: "Mount namespaces the eBPF recorder's map had no room for (the kernel's count: their syscalls were not recorded), as status.recorder.lost.",
	}, func() float64 { return float64(lost.Load()) })
	droppedCounter = prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_recorder_dropped_total",
		Help: "Per-pod recordings the node state had no room for (it keeps at most 256), as status.recorder.dropped.",
	}, func() float64 { return float64(dropped.Load()) })
	unnamedGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_recorder_unnamed_syscalls",
		Help: "Distinct syscall numbers recorded that the agent's syscall tables do not name (a kernel newer than the tables): they cannot go into a profile by name.",
	})
	replacedMaps = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_recorder_replaced_maps_total",
		Help: "Times the agent replaced the pinned eBPF maps of an incompatible layout (another agent version or map size), losing what they held since the previous agent's last harvest.",
	})
	stateWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_recorder_state_writes_total",
		Help: "Writes of the recordings and the recorder's state to the node's SeccompNodeStatus (on change only).",
	})
)

func init() {
	nodekube.Registry.MustRegister(attachedGauge, unattributed, mapBytes, lostCounter, droppedCounter, unnamedGauge, replacedMaps, stateWrites)
	for _, r := range []string{ReasonNoProcess, ReasonNotContainer, ReasonNoPod} {
		unattributed.WithLabelValues(r)
	}
}
