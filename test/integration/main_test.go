//go:build integration

// Package integration runs the manager's reconcilers against a real
// kube-apiserver and etcd (envtest). KUBEBUILDER_ASSETS must name a folder
// holding both binaries: `make test-integration` sets it from
// hack/kube-binaries.sh (pinned versions, built from the Go module proxy).
package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
)

var (
	// k8s is a client to the test's apiserver, with the manager running.
	k8s client.Client
	// env is the running control plane (for tests that restart the
	// apiserver or need its admin credentials).
	env *envtest.Environment
	// cfg is the admin rest config of env.
	cfg *rest.Config
)

// Hooks other test files register from init(), so each area (webhooks,
// config, agents) keeps its setup in its own file instead of here.
var (
	// envHooks adjust the environment before the control plane starts
	// (e.g. WebhookInstallOptions).
	envHooks []func(*envtest.Environment)
	// managerHooks add runnables (webhooks, reconcilers) to the manager
	// before it starts.
	managerHooks []func(ctrl.Manager) error
)

// operatorNamespace is the namespace the manager runs in, exempt from policies.
const operatorNamespace = "seccomp-operator"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		fmt.Fprintln(os.Stderr, "KUBEBUILDER_ASSETS is not set: run `make test-integration` (it provides kube-apiserver and etcd)")
		return 1
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(false)))
	env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	// A fixed certificate directory lets a test restart the apiserver with
	// the same serving certificate, so clients reconnect as they would to
	// a restarted production apiserver.
	certDir, err := os.MkdirTemp("", "seccomp-operator-apiserver-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(certDir)
	// StopTimeout: kube-apiserver drains for a long time on SIGTERM; after
	// 3 s envtest kills it, which is the harsher restart anyway.
	env.ControlPlane.APIServer = &envtest.APIServer{CertDir: certDir, StopTimeout: 3 * time.Second}
	if auditLog, err = withAudit(env.ControlPlane.APIServer, certDir); err != nil {
		fmt.Fprintln(os.Stderr, "audit log:", err)
		return 1
	}
	for _, h := range envHooks {
		h(env)
	}
	start := time.Now()
	cfg, err = env.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "start kube-apiserver and etcd:", err)
		return 1
	}
	defer env.Stop()
	fmt.Fprintf(os.Stderr, "control plane up in %v\n", time.Since(start).Round(time.Millisecond))

	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	// The manager's own namespace, where it publishes the profile index
	// and keeps its Secret, and its identity: the manager runs with the
	// RBAC of config/rbac, as deployed.
	admin, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	if err := admin.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		fmt.Fprintln(os.Stderr, "create the operator's namespace:", err)
		return 1
	}
	managerCfg, err := asManager(context.Background(), admin, cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, "the manager's identity:", err)
		return 1
	}
	wo := env.WebhookInstallOptions
	mgr, err := ctrl.NewManager(managerCfg, ctrl.Options{
		Scheme:        scheme,
		Cache:         setup.CacheOptions(),
		Metrics:       metricsserver.Options{BindAddress: "0"},
		WebhookServer: webhook.NewServer(webhook.Options{Host: wo.LocalServingHost, Port: wo.LocalServingPort, CertDir: wo.LocalServingCertDir}),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "create manager:", err)
		return 1
	}
	for _, h := range managerHooks {
		if err := h(mgr); err != nil {
			fmt.Fprintln(os.Stderr, "set up manager:", err)
			return 1
		}
	}
	if err := (&controller.ProfileReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, "set up reconciler:", err)
		return 1
	}
	if _, err := setup.Admission(mgr, setup.AdmissionOptions{Path: setup.PathNative, OperatorNamespace: operatorNamespace, ServeWebhook: true}, ctrl.Log); err != nil {
		fmt.Fprintln(os.Stderr, "set up admission:", err)
		return 1
	}
	if err := (&controller.PredefinedReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
		fmt.Fprintln(os.Stderr, "set up predefined reconciler:", err)
		return 1
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager stopped:", err)
		}
	}()
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintln(os.Stderr, "client:", err)
		return 1
	}
	return m.Run()
}
