package nodekube

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// The metrics endpoint asks the apiserver who a scraper is and whether it
// may read the metrics (cmd/agent wraps MetricsHandler in
// metricsauth.Authorized).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

// MetricsHandler serves Registry in the Prometheus text format.
func MetricsHandler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(Registry, promhttp.HandlerOpts{}))
	return mux
}

// ProbeHandler serves /healthz (the process answers) and /readyz (ready
// reports true: the watches have their first lists).
func ProbeHandler(ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !ready() {
			http.Error(w, "watches not synced yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	return mux
}

// PprofHandler serves Go's profiles under /debug/pprof/.
func PprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// Serve listens on addr ("0" or "" disables it) and serves h until ctx
// ends. It returns once the listener is open, so a port in use is an
// error at start; later serving errors go to errs.
func Serve(ctx context.Context, addr string, h http.Handler, errs chan<- error) error {
	return serve(ctx, addr, h, nil, errs)
}

// ServeTLS is Serve over TLS with cfg.
func ServeTLS(ctx context.Context, addr string, h http.Handler, cfg *tls.Config, errs chan<- error) error {
	return serve(ctx, addr, h, cfg, errs)
}

// Disabled reports whether addr turns an endpoint off.
func Disabled(addr string) bool { return addr == "" || addr == "0" }

func serve(ctx context.Context, addr string, h http.Handler, cfg *tls.Config, errs chan<- error) error {
	if Disabled(addr) {
		return nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if cfg != nil {
		l = tls.NewListener(l, cfg)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("serve %s: %w", addr, err)
		}
	}()
	return nil
}
