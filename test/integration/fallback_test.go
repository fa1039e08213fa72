//go:build integration

package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
	"github.com/seccomp-operator/seccomp-operator/internal/policy/policycases"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/certs"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
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
	// tune adjusts each manager's certificate source (rotation tests).
	tune func(*certs.Source)
	// native starts the next manager on the native path instead.
	native bool
	audit  string // the apiserver's audit log
}

func startFallbackCluster(t *testing.T, tune func(*certs.Source)) *fallbackCluster {
	t.Helper()
	e := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	e.ControlPlane.APIServer = &envtest.APIServer{}
	audit, err := withAudit(e.ControlPlane.APIServer, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c, err := e.Start()
	if err != nil {
		t.Fatalf("start the fallback control plane: %v", err)
	}
	t.Cleanup(func() { _ = e.Stop() })
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	fc := &fallbackCluster{cfg: c, tune: tune, audit: audit}
	if fc.k8s, err = client.New(c, client.Options{Scheme: scheme}); err != nil {
		t.Fatal(err)
	}
	if err := fc.k8s.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: operatorNamespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// The manager runs with its deployed RBAC (and the fallback path is
	// the one that creates a webhook configuration and a Secret).
	mc, err := asManager(context.Background(), fc.k8s, c)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fc.port = l.Addr().(*net.TCPAddr).Port
	_ = l.Close()
	fc.start = func(t *testing.T) {
		t.Helper()
		// The certificate as the manager keeps it (internal/setup): in a
		// Secret, rotated, its CA injected into the webhook configurations.
		url := fmt.Sprintf("https://localhost:%d", fc.port)
		cert, err := setup.NewCertificate(mc, scheme, setup.CertificateOptions{Dir: t.TempDir(), Namespace: operatorNamespace,
			Secret: "seccomp-operator-webhook-tls", Service: "seccomp-operator-webhook", URL: url,
			ValidatingConfig: "seccomp-operator-validating-webhook"}, ctrl.Log.WithName("fallback-cert"))
		if err != nil || cert.Source == nil {
			t.Fatalf("webhook certificate: %v", err)
		}
		if fc.tune != nil {
			fc.tune(cert.Source)
		}
		mgr, err := ctrl.NewManager(mc, ctrl.Options{
			Scheme:        scheme,
			Cache:         setup.CacheOptions(),
			Metrics:       metricsserver.Options{BindAddress: "0"},
			WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: fc.port, TLSOpts: append([]func(*tls.Config){setup.DisableHTTP2}, cert.TLSOpts...)}),
			// Controller names are process-wide; the package's main
			// manager already uses them.
			Controller: config.Controller{SkipNameValidation: ptr.To(true)},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := cert.Start(mgr, ctrl.Log.WithName("fallback-ca")); err != nil {
			t.Fatal(err)
		}
		if err := (&controller.ProfileReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			t.Fatal(err)
		}
		if err := (&controller.PredefinedReconciler{Client: mgr.GetClient()}).SetupWithManager(mgr); err != nil {
			t.Fatal(err)
		}
		want := setup.PathWebhook
		if fc.native {
			want = setup.PathNative
		}
		path, err := setup.Admission(mgr, setup.AdmissionOptions{Path: want, OperatorNamespace: operatorNamespace,
			URL: url, Bundle: cert.Bundle(), ServeWebhook: true}, ctrl.Log.WithName("fallback"))
		if err != nil || path != want {
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
	oldK8s, oldCfg, oldAudit := k8s, cfg, auditLog
	k8s, cfg, auditLog = fc.k8s, fc.cfg, fc.audit
	t.Cleanup(func() { k8s, cfg, auditLog = oldK8s, oldCfg, oldAudit })
}

// The fallback webhook gives the case table's pods the decisions the
// native policies give (runPolicyCaseTable checks each against
// policy.Evaluate (the compiled policies run in-process), which TestPolicyCaseTableInProcessAndApiserverAgree proves equal to
// the apiserver's CEL); forcing the webhook leaves no native policy; with
// the manager down, pods of exempt namespaces still create and deletes
// always work, while governed namespaces fail closed.
func TestFallbackWebhook(t *testing.T) {
	fc := startFallbackCluster(t, nil)
	fc.use(t)
	ctx := context.Background()

	runPolicyCaseTable(t)

	var maps admissionv1.MutatingAdmissionPolicyList
	var vaps admissionv1.ValidatingAdmissionPolicyList
	// The manager's own (config/rbac's) policy is not one of them.
	compiled := client.MatchingLabels{"app.kubernetes.io/managed-by": "seccomp-operator"}
	if err := k8s.List(ctx, &maps, compiled); err != nil {
		t.Fatal(err)
	}
	if err := k8s.List(ctx, &vaps, compiled); err != nil {
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
	wcl, w := warningClient(t)
	if err := wcl.Create(ctx, dep, client.DryRunAll); err != nil {
		t.Fatalf("a Deployment must never be refused for its template: %v", err)
	}
	if got := strings.Join(w.take(), "\n"); !strings.Contains(got, "for the pods of this Deployment: seccomp profile not allowed for container app: Unconfined") {
		t.Errorf("no template warning: %q", got)
	}

	// The manager goes away.
	existing := policycases.RestrictedPod("kube-system", "survivor")
	if err := k8s.Create(ctx, existing); err != nil {
		t.Fatal(err)
	}
	governed := policycases.RestrictedPod("fb-apps", "governed")
	if err := k8s.Create(ctx, governed); err != nil {
		t.Fatalf("create a pod while the webhook is up: %v", err)
	}
	fc.stop()
	if _, err, _ := dryRun(t, policycases.RestrictedPod("fb-apps", "while-down")); err == nil || !strings.Contains(err.Error(), "pods.seccomp-operator.dev") {
		t.Errorf("with the webhook down a governed namespace must fail closed, got %v", err)
	}
	if _, err, _ := dryRun(t, policycases.RestrictedPod("kube-system", "while-down")); err != nil {
		t.Errorf("kube-system must not depend on the webhook: %v", err)
	}
	if _, err, _ := dryRun(t, policycases.RestrictedPod(operatorNamespace, "while-down")); err != nil {
		t.Errorf("the operator's namespace must not depend on the webhook: %v", err)
	}
	// Only namespaces an enforce-mode policy governs fail closed: not one
	// no policy selects, not one a warn-mode policy governs, not one that
	// only holds bindings (the case table's namespaces).
	for _, ns := range []string{"cases-none", "cases-warn", "cases-bound-free"} {
		if _, err, _ := dryRun(t, policycases.RestrictedPod(ns, "while-down")); err != nil {
			t.Errorf("namespace %s must not depend on the webhook: %v", ns, err)
		}
	}
	for _, p := range []*corev1.Pod{existing, governed} {
		if err := k8s.Delete(ctx, p); err != nil {
			t.Errorf("delete %s/%s with the webhook down: %v", p.Namespace, p.Name, err)
		}
	}
	fc.start(t)
	admittedWithin(t, "the webhook back", policycases.RestrictedPod("fb-apps", "after"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault"
	})

	// Back to the native path: the webhook configuration goes (left in
	// place it would send every pod to handlers nobody keeps), the native
	// policies come, and pods get the same default.
	fc.stop()
	fc.native = true
	fc.start(t)
	eventually(t, "the webhook configuration removed on the native path", func() bool {
		var cfg admissionv1.MutatingWebhookConfiguration
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: pods.DefaultConfigName}, &cfg))
	})
	admittedWithin(t, "the native policies defaulting", policycases.RestrictedPod("fb-apps", "native"), func(out *corev1.Pod, err error, _ []string) bool {
		return err == nil && podProfile(out) == "RuntimeDefault"
	})
}

// Pods keep being admitted through the fallback webhook while its
// certificate and CA rotate (validities so short that every Sync finds
// them due: a CA rotation every three intervals), and while the manager
// restarts, requests in flight end either admitted or with the
// apiserver's "failed calling webhook" error, nothing else.
func TestFallbackWebhookRotationAndRestartUnderTraffic(t *testing.T) {
	const interval = 2 * time.Second
	fc := startFallbackCluster(t, func(s *certs.Source) {
		s.Interval, s.CAValidity, s.CertValidity = interval, time.Minute, time.Minute
	})
	fc.use(t)
	ctx := context.Background()
	policyNamespace(t, "fb-traffic", map[string]string{"traffic": "yes"})
	createPolicy(t, &v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "traffic"}, Spec: v1alpha1.SeccompPolicySpec{
		NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"traffic": "yes"}},
		DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
	}})
	admitted := func(out *corev1.Pod, err error) bool { return err == nil && podProfile(out) == "RuntimeDefault" }
	admittedWithin(t, "the webhook in force", policycases.RestrictedPod("fb-traffic", "first"), func(out *corev1.Pod, err error, _ []string) bool {
		return admitted(out, err)
	})

	// Traffic for 7 intervals (two CA rotations), watching the Secret.
	served := map[string]bool{}
	cas := map[string]bool{}
	n, failures := 0, []string{}
	for deadline := time.Now().Add(7 * interval); time.Now().Before(deadline); n++ {
		out, err, _ := dryRun(t, policycases.RestrictedPod("fb-traffic", fmt.Sprintf("t-%d", n)))
		if !admitted(out, err) {
			failures = append(failures, fmt.Sprint(err))
		}
		var sec corev1.Secret
		if k8s.Get(ctx, client.ObjectKey{Namespace: operatorNamespace, Name: "seccomp-operator-webhook-tls"}, &sec) == nil {
			served[string(sec.Data[certs.CertFile])] = true
			cas[string(sec.Data[certs.CAFile])] = true
		}
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d pod creates failed while the certificate rotated; first: %s", len(failures), n, failures[0])
	}
	if len(cas) < 2 || len(served) < 3 {
		t.Errorf("no rotation happened under traffic: %d CAs, %d serving certificates seen", len(cas), len(served))
	}
	t.Logf("%d pod creates, %d serving certificates and %d CAs seen", n, len(served), len(cas))

	// A restart with requests in flight.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var bad []string
	stopTraffic := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stopTraffic:
					return
				default:
				}
				out, err, _ := dryRun(t, policycases.RestrictedPod("fb-traffic", fmt.Sprintf("r-%d-%d", w, i)))
				if !admitted(out, err) && (err == nil || !strings.Contains(err.Error(), "failed calling webhook")) {
					mu.Lock()
					bad = append(bad, fmt.Sprintf("profile %q, error %v", podProfile(out), err))
					mu.Unlock()
				}
			}
		}(w)
	}
	time.Sleep(500 * time.Millisecond)
	fc.stop()
	fc.start(t)
	admittedWithin(t, "the webhook back after the restart", policycases.RestrictedPod("fb-traffic", "back"), func(out *corev1.Pod, err error, _ []string) bool {
		return admitted(out, err)
	})
	close(stopTraffic)
	wg.Wait()
	for _, b := range bad {
		t.Error("during the restart a request ended neither admitted nor refused by the webhook's absence:", b)
	}
}

// The behaviour tests written for the native policies, run unchanged
// through the fallback webhook (a second apiserver, the manager forced
// onto the webhook): restricted admits with the default, allowed lists in
// each mode, missing and not-installed profiles, ephemeral containers,
// workload templates. (Precedence and repair inspect the native objects
// themselves and are not repeated.)
func TestFallbackWebhookPassesThePolicyTests(t *testing.T) {
	fc := startFallbackCluster(t, nil)
	fc.use(t)
	// The tests name the predefined profiles, which the main suite's
	// manager installed long before they run.
	eventually(t, "the predefined profiles in the index", func() bool {
		var idx v1alpha1.SeccompProfileIndex
		return k8s.Get(context.Background(), client.ObjectKey{Name: v1alpha1.ProfileIndexName}, &idx) == nil &&
			strings.Contains(idx.Installed, ",webapp,")
	})
	for _, tc := range []struct {
		name string
		run  func(*testing.T)
	}{
		{"DefaultMakesRestrictedAdmit", TestPolicyDefaultMakesRestrictedAdmit},
		{"AllowedProfiles", TestPolicyAllowedProfiles},
		{"MissingOrNotInstalledProfile", TestPolicyMissingOrNotInstalledProfile},
		{"EphemeralContainers", TestPolicyEphemeralContainers},
		{"TemplateWarnings", TestPolicyTemplateWarnings},
	} {
		t.Run(tc.name, tc.run)
	}
}
