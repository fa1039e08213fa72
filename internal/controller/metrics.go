package controller

import (
	"github.com/prometheus/client_golang/prometheus"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

var reconcileSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "seccomp_operator_profile_reconcile_seconds",
	Help:    "Time to flatten, validate and compile a SeccompProfile and write its status.",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
})

func init() {
	metrics.Registry.MustRegister(reconcileSeconds)
}
