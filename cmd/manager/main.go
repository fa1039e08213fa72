// Command manager runs the seccomp-operator's cluster-side reconcilers.
package main

import (
	"crypto/tls"
	"flag"
	"os"

	admissionregv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/utils/ptr"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
	profilewebhook "github.com/seccomp-operator/seccomp-operator/internal/webhook/profile"
)

func main() {
	var metricsAddr, metricsCertDir, probeAddr, certDir, svcName, svcNamespace, webhookConfig string
	var admissionPath, webhookURL, certSecret, pprofAddr string
	var leaderElect, withPredefined, withPolicies, withWebhooks, enableHTTP2 bool
	var webhookPort int
	var heapFloor int64
	flag.StringVar(&metricsAddr, "metrics-bind-address", ":8443", "address of the Prometheus metrics endpoint, HTTPS with a bearer token of a user allowed to get /metrics (ClusterRole seccomp-operator-metrics-reader); 0 disables it")
	flag.StringVar(&metricsCertDir, "metrics-cert-dir", "", "directory with the metrics endpoint's tls.crt and tls.key (default: a self-signed certificate made at start)")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of the health and readiness probes")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "serve the webhooks and the metrics endpoint over HTTP/2 as well as HTTP/1.1 (off: HTTP/2 stream-reset floods, CVE-2023-44487)")
	flag.StringVar(&pprofAddr, "pprof-bind-address", "0", "address of the Go profiling endpoint, /debug/pprof/ (0 disables it)")
	flag.Int64Var(&heapFloor, "gc-heap-floor", setup.DefaultHeapFloor, "while the fallback webhook decides pod admissions (--admission=webhook, or auto on an apiserver without MutatingAdmissionPolicy): bytes the Go collector lets the heap grow to before it collects, however small the live heap, so that reviews do not pay for a collection several times a second (GOGC rises to reach it; GOGC set in the environment wins); 0: Go's default GOGC alone")
	flag.BoolVar(&leaderElect, "leader-elect", false, "elect a leader so that only one replica reconciles")
	flag.BoolVar(&withPredefined, "predefined-profiles", true, "create the five predefined SeccompProfiles and restore them when deleted or edited")
	flag.BoolVar(&withPolicies, "seccomp-policies", true, "enforce SeccompPolicies and ProfileBindings at pod admission")
	flag.StringVar(&admissionPath, "admission", setup.PathAuto, "how SeccompPolicies and ProfileBindings are enforced: native (the apiserver's MutatingAdmissionPolicy and ValidatingAdmissionPolicy, Kubernetes 1.36+), webhook (the manager's fallback webhook) or auto (native when the apiserver serves it)")
	flag.BoolVar(&withWebhooks, "webhooks", true, "serve the admission webhook that rejects invalid SeccompProfiles")
	flag.IntVar(&webhookPort, "webhook-port", 9443, "port of the webhook server")
	flag.StringVar(&certDir, "webhook-cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory with a mounted tls.crt and tls.key (cert-manager, a Secret volume); when they are missing the manager keeps its own in --webhook-cert-secret")
	flag.StringVar(&svcName, "webhook-service-name", "seccomp-operator-webhook", "Service in front of the webhook server (for the generated certificate)")
	flag.StringVar(&svcNamespace, "webhook-service-namespace", envOr("POD_NAMESPACE", "seccomp-operator"), "namespace of that Service (default $POD_NAMESPACE)")
	flag.StringVar(&webhookConfig, "webhook-config-name", "seccomp-operator-validating-webhook", "ValidatingWebhookConfiguration whose caBundle the manager keeps when it owns the certificate (config/rbac grants access to the default name only)")
	flag.StringVar(&certSecret, "webhook-cert-secret", "seccomp-operator-webhook-tls", "Secret (in the manager's namespace) where the replicas keep the webhook's CA and serving certificate, created and rotated by the manager, unless --webhook-cert-dir already holds tls.crt and tls.key (config/rbac grants access to the default name only)")
	flag.StringVar(&webhookURL, "webhook-url", "", "base URL (https://host:port) at which the apiserver reaches the fallback webhook, instead of the Service: for a manager running outside the cluster")
	opts := zap.Options{}
	opts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&opts)))
	log := ctrl.Log.WithName("manager")

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		log.Error(err, "register client-go types")
		os.Exit(1)
	}
	if err := v1alpha1.AddToScheme(scheme); err != nil {
		log.Error(err, "register seccomp-operator types")
		os.Exit(1)
	}
	restCfg := ctrl.GetConfigOrDie()
	var cert *setup.Certificate
	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, setup.DisableHTTP2)
	}
	if withWebhooks {
		var err error
		cert, err = setup.NewCertificate(restCfg, scheme, setup.CertificateOptions{Dir: certDir, Namespace: svcNamespace,
			Secret: certSecret, Service: svcName, URL: webhookURL, ValidatingConfig: webhookConfig}, ctrl.Log.WithName("webhook-cert"))
		if err != nil {
			log.Error(err, "webhook certificate")
			os.Exit(1)
		}
		tlsOpts = append(tlsOpts, cert.TLSOpts...)
	}
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  setup.CacheOptions(),
		WebhookServer:          webhook.NewServer(webhook.Options{Port: webhookPort, CertDir: certDir, TLSOpts: tlsOpts}),
		Metrics:                setup.MetricsOptions(metricsAddr, metricsCertDir, enableHTTP2),
		HealthProbeBindAddress: probeAddr,
		PprofBindAddress:       pprofAddr,
		LeaderElection:         leaderElect,
		LeaderElectionID:       "manager.seccomp-operator.dev",
		// The binary exits right after the manager stops, so handing the
		// lease over at once is safe, and a rolling update does not wait
		// for it to expire.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		log.Error(err, "create manager")
		os.Exit(1)
	}
	if err := (&controller.ProfileReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		log.Error(err, "set up the profile reconciler")
		os.Exit(1)
	}
	if err := (&controller.RecordingReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("profilerecording")}).SetupWithManager(mgr); err != nil {
		log.Error(err, "set up the recording reconciler")
		os.Exit(1)
	}
	if withPredefined {
		if err := (&controller.PredefinedReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			log.Error(err, "set up the predefined profiles reconciler")
			os.Exit(1)
		}
	}
	if withPolicies {
		path, err := setup.Admission(mgr, setup.AdmissionOptions{
			Path: admissionPath, OperatorNamespace: svcNamespace,
			Service: &admissionregv1.ServiceReference{Name: svcName, Namespace: svcNamespace, Port: ptr.To[int32](443)},
			URL:     webhookURL, ServeWebhook: withWebhooks,
			Bundle: cert.Bundle(),
		}, ctrl.Log.WithName("admission"))
		if err != nil {
			log.Error(err, "set up admission")
			os.Exit(1)
		}
		if path == setup.PathWebhook && withWebhooks && heapFloor > 0 && os.Getenv("GOGC") == "" {
			setup.HeapFloor(heapFloor, 100)
		}
	}
	if withWebhooks {
		if err := profilewebhook.SetupWithManager(mgr); err != nil {
			log.Error(err, "set up the webhook")
			os.Exit(1)
		}
		if err := cert.Start(mgr, ctrl.Log.WithName("webhook-ca")); err != nil {
			log.Error(err, "set up the webhook certificate")
			os.Exit(1)
		}
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		log.Error(err, "add health check")
		os.Exit(1)
	}
	ready := healthz.Ping
	if withWebhooks {
		ready = cert.Ready(mgr)
	}
	if err := mgr.AddReadyzCheck("readyz", ready); err != nil {
		log.Error(err, "add readiness check")
		os.Exit(1)
	}
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		log.Error(err, "run manager")
		os.Exit(1)
	}
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
