package setup

import (
	"net/http"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/seccomp-operator/seccomp-operator/internal/metricsauth"
)

// MetricsOptions serve the manager's metrics on addr ("0" disables them)
// over HTTPS (a self-signed certificate unless certDir holds tls.crt and
// tls.key; HTTP/1.1 only unless http2), to clients whose bearer token the apiserver accepts for a user
// allowed to get the path (metricsauth, as the agents do: the ClusterRole
// seccomp-operator-metrics-reader grants it). Metrics tell what a cluster
// runs and how it is loaded; they are not for anyone who can reach the
// port.
func MetricsOptions(addr, certDir string, http2 bool) metricsserver.Options {
	opts := metricsserver.Options{
		BindAddress:   addr,
		SecureServing: true,
		CertDir:       certDir,
		FilterProvider: func(cfg *rest.Config, _ *http.Client) (metricsserver.Filter, error) {
			review, err := metricsauth.APIReview(cfg)
			if err != nil {
				return nil, err
			}
			return func(_ logr.Logger, h http.Handler) (http.Handler, error) {
				return metricsauth.Authorized(h, review), nil
			}, nil
		},
	}
	if !http2 {
		opts.TLSOpts = append(opts.TLSOpts, DisableHTTP2)
	}
	return opts
}
