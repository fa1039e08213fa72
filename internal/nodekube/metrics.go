package nodekube

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Registry holds the node agent's metrics, every role's, with the Go
// runtime's and the process's (memory, CPU, open files); cmd/agent serves
// it on one endpoint (MetricsHandler).
var Registry = prometheus.NewRegistry()

var watchResumes = prometheus.NewCounter(prometheus.CounterOpts{
	Name: "seccomp_operator_agent_watch_resumes_total",
	Help: "Watch streams (profiles, the node's pods, its node state) the apiserver closed that the agent resumed from the last resource version (resumingWatch), without the reflector's backoff and relist.",
})

func init() {
	Registry.MustRegister(watchResumes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}
