package agent

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

var (
	syncSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "seccomp_operator_agent_sync_seconds",
		Help:    "Time of one files pass of the node agent (render, write files; the node state is written apart).",
		Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
	})
	fileWrites = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_file_operations_total",
		Help: "Profile files written (install, including drift repair) or removed by the node agent.",
	}, []string{"op"})
	renders = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_renders_total",
		Help: "Profiles flattened, validated and compiled by the node agent (once per spec version of a profile and its bases; a rewrite of a file whose digest is known re-renders without compiling and is not counted).",
	})
	statusWrites = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "seccomp_operator_agent_node_state_writes_total",
		Help: "Writes of the node's SeccompNodeStatus (a steady node makes none).",
	})
	denialsLogged = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_denials_logged",
		Help: "1 when the node's container runtime takes seccomp flags, so the operator's profiles carry SECCOMP_FILTER_FLAG_LOG and the kernel audits their denials; 0 when they are installed without it and their ERRNO and TRAP denials leave no audit record (the node state's status.runtime says why).",
	})
	nodeProfiles = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "seccomp_operator_agent_profiles",
		Help: "Profiles on this node by state (Installed, Failed, Removing).",
	}, []string{"state"})
)

func init() {
	// The installer's metrics, on the node's one registry (nodekube).
	nodekube.Registry.MustRegister(syncSeconds, fileWrites, renders, statusWrites, denialsLogged, nodeProfiles)
}

func setProfileGauge(states []v1alpha1.NodeProfileState) {
	counts := map[v1alpha1.InstallState]int{}
	for _, st := range states {
		counts[st.State]++
	}
	for _, s := range []v1alpha1.InstallState{v1alpha1.InstallStateInstalled, v1alpha1.InstallStateFailed, v1alpha1.InstallStateRemoving} {
		nodeProfiles.WithLabelValues(string(s)).Set(float64(counts[s]))
	}
}
