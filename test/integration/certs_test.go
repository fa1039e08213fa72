//go:build integration

package integration

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/seccomp-operator/seccomp-operator/internal/webhook/certs"
)

// certClock is a settable clock shared by the Sources of one test, so a
// rotation can be driven without waiting months.
type certClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *certClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *certClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// newCertSource returns a Source on a Secret of its own in the operator's
// namespace, deleted at the end of the test. The apiserver is real, the
// client uncached (as the manager's would be for Secrets).
func newCertSource(t *testing.T, secret string, clk *certClock) *certs.Source {
	t.Helper()
	t.Cleanup(func() {
		err := k8s.Delete(context.Background(), &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: operatorNamespace, Name: secret}})
		if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete secret %s: %v", secret, err)
		}
	})
	return &certs.Source{
		Client: k8s, Namespace: operatorNamespace, SecretName: secret,
		DNSNames:   certs.DNSNames("seccomp-operator-webhook", operatorNamespace),
		CAValidity: 90 * 24 * time.Hour, CertValidity: 90 * 24 * time.Hour,
		Interval: time.Minute, Now: clk.Now,
		Log: ctrl.Log.WithName("certs").WithValues("test", t.Name()),
	}
}

func servedLeaf(t *testing.T, s *certs.Source) *x509.Certificate {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

func countPEM(b []byte) int {
	n := 0
	for {
		var block *pem.Block
		if block, b = pem.Decode(b); block == nil {
			return n
		}
		n++
	}
}

// syncTogether runs Sync on every Source at once, so their reads and
// writes race on the apiserver.
func syncTogether(t *testing.T, srcs ...*certs.Source) {
	t.Helper()
	errs := make([]error, len(srcs))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, s := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Sync(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: %v", i, err)
		}
	}
}

// agree asserts that every Source serves the Secret's certificate and
// publishes the Secret's bundle.
func agree(t *testing.T, phase, secret string, srcs ...*certs.Source) {
	t.Helper()
	var sec corev1.Secret
	if err := k8s.Get(context.Background(), types.NamespacedName{Namespace: operatorNamespace, Name: secret}, &sec); err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(sec.Data[certs.CertFile])
	if block == nil {
		t.Fatalf("%s: the secret has no certificate", phase)
	}
	for i, s := range srcs {
		if !bytes.Equal(servedLeaf(t, s).Raw, block.Bytes) {
			t.Fatalf("%s: replica %d serves a certificate that is not the secret's", phase, i)
		}
		if !bytes.Equal(s.CABundle(), sec.Data[certs.BundleFile]) {
			t.Fatalf("%s: replica %d publishes a bundle that is not the secret's", phase, i)
		}
	}
}

func TestCertSecretSharedByReplicas(t *testing.T) {
	secret := fmt.Sprintf("webhook-cert-%d", time.Now().UnixNano())
	t0 := time.Now()
	clk := &certClock{t: t0}
	a, b, c := newCertSource(t, secret, clk), newCertSource(t, secret, clk), newCertSource(t, secret, clk)

	// Three replicas start at once on an empty namespace: one Create wins,
	// the others adopt its certificate.
	syncTogether(t, a, b, c)
	agree(t, "creation", secret, a, b, c)
	leaf0 := servedLeaf(t, a)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(a.CABundle())
	if _, err := leaf0.Verify(x509.VerifyOptions{Roots: pool, DNSName: "seccomp-operator-webhook.seccomp-operator.svc", CurrentTime: t0}); err != nil {
		t.Fatalf("served certificate does not verify against the bundle: %v", err)
	}

	// A CA rotation, each step raced by all replicas; resourceVersion
	// conflicts must leave them on one certificate and one bundle.
	t1 := t0.Add(61 * 24 * time.Hour)
	clk.Set(t1)
	syncTogether(t, a, b, c)
	agree(t, "phase 1", secret, a, b, c)
	if n := countPEM(a.CABundle()); n != 2 || !servedLeaf(t, a).Equal(leaf0) {
		t.Fatalf("phase 1: %d CAs in the bundle, serving the old certificate: %v", n, servedLeaf(t, a).Equal(leaf0))
	}
	bundle1 := a.CABundle()

	clk.Set(t1.Add(time.Minute))
	syncTogether(t, a, b, c)
	agree(t, "phase 2", secret, a, b, c)
	leaf2 := servedLeaf(t, a)
	if leaf2.Equal(leaf0) {
		t.Fatal("phase 2: still serving the old certificate")
	}
	pool1 := x509.NewCertPool()
	pool1.AppendCertsFromPEM(bundle1)
	if _, err := leaf2.Verify(x509.VerifyOptions{Roots: pool1, CurrentTime: clk.Now()}); err != nil {
		t.Fatalf("phase 2: the phase-1 bundle does not trust the new certificate: %v", err)
	}

	clk.Set(t1.Add(2 * time.Minute))
	syncTogether(t, a, b, c)
	agree(t, "phase 3", secret, a, b, c)
	if n := countPEM(a.CABundle()); n != 1 {
		t.Fatalf("phase 3: %d CAs in the bundle, want 1", n)
	}
}

func TestCertBundleInjectedIntoMutatingWebhook(t *testing.T) {
	ctx := context.Background()
	name := fmt.Sprintf("certs-test-%d", time.Now().UnixNano())
	// A webhook nothing calls: a made-up group no one creates objects of,
	// and Ignore should anything ever match.
	hook := func(n string) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name: n + ".certs-test.seccomp-operator.dev",
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: operatorNamespace, Name: "certs-test-absent", Path: ptr.To("/mutate"),
			}},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"certs-test.seccomp-operator.dev"},
					APIVersions: []string{"v1"}, Resources: []string{"widgets"}},
			}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
		}
	}
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Webhooks:   []admissionregistrationv1.MutatingWebhook{hook("one"), hook("two")},
	}
	if err := k8s.Create(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := k8s.Delete(context.Background(), cfg); err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("delete %s: %v", name, err)
		}
	})

	clk := &certClock{t: time.Now()}
	src := newCertSource(t, name, clk)
	if err := src.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	inj := &certs.BundleInjector{
		Reader: k8s, Writer: k8s,
		Validating: []string{"certs-test-absent"}, Mutating: []string{"certs-test-absent", name},
		Bundle: src.CABundle, Interval: time.Second,
		Log: ctrl.Log.WithName("bundle-injector").WithValues("test", t.Name()),
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- inj.Start(runCtx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	injected := func(want []byte) func() bool {
		return func() bool {
			var got admissionregistrationv1.MutatingWebhookConfiguration
			if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &got); err != nil {
				t.Fatal(err)
			}
			for _, w := range got.Webhooks {
				if !bytes.Equal(w.ClientConfig.CABundle, want) {
					return false
				}
				if w.ClientConfig.Service == nil || w.ClientConfig.Service.Name != "certs-test-absent" || len(w.Rules) != 1 {
					t.Fatalf("webhook %s lost its client config or rules", w.Name)
				}
			}
			return len(got.Webhooks) == 2
		}
	}
	eventually(t, "the bundle in the mutating webhook configuration", injected(src.CABundle()))

	// A CA rotation's phase 1 changes the bundle: it is published without
	// waiting for the Interval.
	clk.Set(clk.Now().Add(61 * 24 * time.Hour))
	if err := src.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if countPEM(src.CABundle()) != 2 {
		t.Fatal("phase 1 did not start")
	}
	eventually(t, "the two-CA bundle in the mutating webhook configuration", injected(src.CABundle()))

	// Someone re-applies the configuration without caBundle: repaired.
	var cur admissionregistrationv1.MutatingWebhookConfiguration
	if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &cur); err != nil {
		t.Fatal(err)
	}
	cur.Webhooks[1].ClientConfig.CABundle = nil
	if err := k8s.Update(ctx, &cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the cleared caBundle to be restored", injected(src.CABundle()))
}
