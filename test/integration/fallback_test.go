//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/certs"
)

// fallbackCluster is a second apiserver and etcd with a manager forced
// onto the fallback webhook path (the apiserver serves the native API too:
// forcing the webhook must leave no native policy behind).
type fallbackCluster struct {
	k8s  client.Client
	cfg  *rest.Config
	port int
	// stop stops the manager (the webhook goes with it); start starts a
	// new one on the same port.
	stop  func()
	start func(t *testing.T)
}

func startFallbackCluster(t *testing.T) *fallbackCluster {
	t.Helper()
	e := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	c, err := e.Start()
	if err != nil {
		t.Fatalf("start the fallback control plane: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	fc := &fallbackCluster{cfg: c}
	if fc.k8s, err = client.New(c, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	if err := fc.k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fc.port = l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	certDir := t.TempDir()
	ca, generated, err := certs.Ensure(certDir, []string{"localhost"})
	if err != nil || !generated {
		t.Fatalf("webhook certificate: %v", err)
	}
	fc.start = func(t *testing.T) {
		t.Helper()
		mgr, err := ctrl.NewManager(c, ctrl.Options{
			Scheme:        scheme,
			Metrics:       metricsserver.Options{BindAddress: "0"},
			WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: fc.port, CertDir: certDir}),
			// Controller names are process-wide; the package's main
			// manager already uses them.
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := (&controller.ProfileReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			t.Fatal(err)
		}
		path, err := setup.Admission(mgr, setup.AdmissionOptions{Path: setup.PathWebhook, OperatorNamespace: operatorNamespace,
			URL: fmt.Sprintf("https://localhost:%d", fc.port), Bundle: func() []byte { return ca }}, ctrl.Log.WithName("fallback"))
		if err != nil || path != setup.PathWebhook {
			t.Fatalf("admission path %q: %v", path, err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			if err := mgr.Start(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "fallback manager:", err)
			}
		}()
		fc.stop = func() { cancel(); <-done }
		t.Cleanup(func() { fc.stop() })
	}
	fc.start(t)
	return fc
}

// use points the package's k8s client and config (which the case table's
// helpers use) at the fallback cluster until the test ends.
func (fc *fallbackCluster) use(t *testing.T) {
	oldK8s, oldCfg := k8s, cfg
	k8s, cfg = fc.k8s, fc.cfg
	t.Cleanup(func() { k8s, cfg = oldK8s, oldCfg })
}

// The fallback webhook gives the case table's pods the decisions the
// native policies give (runPolicyCaseTable checks each against
// policy.Evaluate, which TestPolicyCaseTableCELAndGoAgree proves equal to
// the apiserver's CEL); forcing the webhook leaves no native policy; with
// the manager down, pods of exempt namespaces still create and deletes
// always work, while governed namespaces fail closed.
func TestFallbackWebhook(t *testing.T) {
	fc := startFallbackCluster(t)
	fc.use(t)
	ctx := context.Background()

	runPolicyCaseTable(t)

	var maps admissionv1.MutatingAdmissionPolicyList
	var vaps admissionv1.ValidatingAdmissionPolicyList
	if err := k8s.List(ctx, &maps); err != nil {
		t.Fatal(err)
	}
	if err := k8s.List(ctx, &vaps); err != nil {
		t.Fatal(err)
	}
	if n := len(maps.Items) + len(vaps.Items); n != 0 {
		t.Errorf("the webhook path left %d native admission policies", n)
	}

	// A workload's template is judged at apply time, as a warning.
	policyNamespace(t, "fb-apps", map[string]string{"cases": "enforce"})
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "fb-apps", Name: "unconfined"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "x"}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx",
					SecurityContext: &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}}}},
			}},
	}
	w := &warningRecorder{}
	wc := rest.CopyConfig(cfg)
	wc.WarningHandler = w
	wcl, err := client.New(wc, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	if err := wcl.Create(ctx, dep, client.DryRunAll); err != nil {
		t.Fatalf("a Deployment must never be refused for its template: %v", err)
	}
	if got := strings.Join(w.take(), "\n"); !strings.Contains(got, "for the pods of this Deployment: seccomp profile not allowed for container app: Unconfined") {
		t.Errorf("no template warning: %q", got)
	}

	// The manager goes away.
	existing := restrictedPod("kube-system", "survivor")
	if err := k8s.Create(ctx, existing); err != nil {
		t.Fatal(err)
	}
	governed := restrictedPod("fb-apps", "governed")
	if err := k8s.Create(ctx, governed); err != nil {
		t.Fatalf("create a pod while the webhook is up: %v", err)
	}
	fc.stop()
	if _, err, _ := dryRun(t, restrictedPod("fb-apps", "while-down")); err == nil || !strings.Contains(err.Error(), "pods.seccomp-operator.dev") {
		t.Errorf("with the webhook down a governed namespace must fail closed, got %v", err)
	}
	if _, err, _ := dryRun(t, restrictedPod("kube-system", "while-down")); err != nil {
		t.Errorf("kube-system must not depend on the webhook: %v", err)
	}
	if _, err, _ := dryRun(t, restrictedPod(operatorNamespace, "while-down")); err != nil {
		t.Errorf("the operator's namespace must not depend on the webhook: %v", err)
	}
	for _, p := range []*corev1.Pod{existing, governed} {
		if err := k8s.Delete(ctx, p); err != nil {
			t.Errorf("delete %s/%s with the webhook down: %v", p.Namespace, p.Name, err)
		}
	}
	fc.start(t)
	admittedWithin(t, "the webhook back", restrictedPod("fb-apps", "after"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault"
	})
}
