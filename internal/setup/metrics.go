package setup

import (
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// MetricsOptions serve the manager's metrics on addr ("0" disables them)
// over HTTPS (a self-signed certificate unless certDir holds tls.crt and
// tls.key), to clients whose bearer token the apiserver accepts
// (TokenReview) for a user allowed to get the path (SubjectAccessReview:
// the ClusterRole seccomp-operator-metrics-reader grants it). Metrics tell
// what a cluster runs and how it is loaded; they are not for anyone who
// can reach the port.
func MetricsOptions(addr, certDir string) metricsserver.Options {
	return metricsserver.Options{
		BindAddress:    addr,
		SecureServing:  true,
		CertDir:        certDir,
		FilterProvider: filters.WithAuthenticationAndAuthorization,
	}
}
