package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

func TestGeneratedCertificateServesTheServiceNames(t *testing.T) {
	names := DNSNames("seccomp-operator-webhook", "seccomp-operator")
	ca, certPEM, keyPEM, err := Generate(names, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatal("CA does not parse")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	// A real TLS handshake, as the apiserver makes it, for each name.
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{pair}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	for _, n := range names {
		c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: n})
		if err != nil {
			t.Fatalf("handshake for %s: %v", n, err)
		}
		c.Close()
	}
	if c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: pool, ServerName: "other.example.com"}); err == nil {
		c.Close()
		t.Fatal("the certificate is accepted for a name it was not made for")
	}
	block, _ := pem.Decode(certPEM)
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil || cert.IsCA {
		t.Fatalf("serving certificate: %v, IsCA %v", err, cert.IsCA)
	}
}

func TestEnsureKeepsProvidedCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, generated, err := Ensure(dir, DNSNames("svc", "ns"))
	if err != nil || !generated || len(ca) == 0 {
		t.Fatalf("Ensure on an empty dir: %v generated=%v", err, generated)
	}
	st, err := os.Stat(filepath.Join(dir, KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v mode %v", err, st.Mode())
	}
	before, _ := os.ReadFile(filepath.Join(dir, CertFile))
	// Certificates already there (a Secret, or cert-manager) are used as
	// they are: no new ones, no CA to publish.
	ca, generated, err = Ensure(dir, DNSNames("svc", "ns"))
	if err != nil || generated || ca != nil {
		t.Fatalf("Ensure with certificates present: %v generated=%v", err, generated)
	}
	after, _ := os.ReadFile(filepath.Join(dir, CertFile))
	if string(before) != string(after) {
		t.Fatal("provided certificate was replaced")
	}
}

func TestInjectSetsCABundleOnlyWhenMissing(t *testing.T) {
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "hooks"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			{Name: "a.example.com", ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "n"}}},
			{Name: "b.example.com"},
		},
	}
	patches := 0
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(cfg).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			patches++
			return cl.Patch(ctx, obj, p, opts...)
		},
	}).Build()
	inj := &CABundleInjector{Reader: c, Writer: c, Name: "hooks", CA: []byte("PEM"), Log: logr.Discard()}
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatal(err)
	}
	var got admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(context.Background(), types.NamespacedName{Name: "hooks"}, &got); err != nil {
		t.Fatal(err)
	}
	for _, w := range got.Webhooks {
		if string(w.ClientConfig.CABundle) != "PEM" {
			t.Fatalf("webhook %s: caBundle %q", w.Name, w.ClientConfig.CABundle)
		}
	}
	if got.Webhooks[0].ClientConfig.Service == nil || got.Webhooks[0].ClientConfig.Service.Name != "s" {
		t.Fatal("the patch lost the service reference")
	}
	if err := inj.Inject(context.Background()); err != nil || patches != 1 {
		t.Fatalf("second Inject: %v, %d patches (want 1 in all)", err, patches)
	}
	missing := &CABundleInjector{Reader: c, Writer: c, Name: "absent", CA: []byte("PEM"), Log: logr.Discard()}
	if err := missing.Inject(context.Background()); err == nil {
		t.Fatal("no error for a missing configuration")
	}
}
