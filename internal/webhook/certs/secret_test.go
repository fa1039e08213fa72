package certs

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"
)

const (
	testNS     = "seccomp-operator"
	testSecret = "webhook-cert"
)

var (
	testNames  = DNSNames("seccomp-operator-webhook", testNS)
	secretKey  = types.NamespacedName{Namespace: testNS, Name: testSecret}
	testStart  = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	secretsGVR = schema.GroupResource{Resource: "secrets"}
)

// clock is a settable time shared by the Sources of one test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.t = t }
func (c *clock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

func scheme() *runtime.Scheme {
	s := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(s)
	return s
}

// writes counts the Creates and Updates that reached the fake client.
type writes struct{ creates, updates atomic.Int32 }

func newFakeClient(w *writes, objs ...client.Object) client.WithWatch {
	b := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(objs...)
	if w != nil {
		b = b.WithInterceptorFuncs(interceptor.Funcs{
			Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
				w.creates.Add(1)
				return c.Create(ctx, obj, opts...)
			},
			Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
				w.updates.Add(1)
				return c.Update(ctx, obj, opts...)
			},
		})
	}
	return b.Build()
}

func newSource(c client.Client, clk *clock) *Source {
	return &Source{
		Client: c, Namespace: testNS, SecretName: testSecret, DNSNames: testNames,
		CAValidity: 90 * 24 * time.Hour, CertValidity: 30 * 24 * time.Hour,
		Interval: time.Minute, Now: clk.Now, Log: logr.Discard(),
	}
}

func syncOK(t *testing.T, s *Source) {
	t.Helper()
	if err := s.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
}

func leaf(t *testing.T, s *Source) *x509.Certificate {
	t.Helper()
	c, err := s.GetCertificate(&tls.ClientHelloInfo{ServerName: testNames[0]})
	if err != nil {
		t.Fatalf("GetCertificate: %v", err)
	}
	return c.Leaf
}

func bundleCerts(t *testing.T, pemBytes []byte) []*x509.Certificate {
	t.Helper()
	certs, err := parseCerts(pemBytes)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	return certs
}

func pool(t *testing.T, pemBytes []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pemBytes) {
		t.Fatal("no certificate in PEM")
	}
	return p
}

// verify checks leaf against the CAs of bundle at time at, for every name.
func verify(leaf *x509.Certificate, bundle []byte, at time.Time) error {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(bundle) {
		return errors.New("empty bundle")
	}
	for _, n := range testNames {
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: p, DNSName: n, CurrentTime: at}); err != nil {
			return err
		}
	}
	return nil
}

func getSecret(t *testing.T, c client.Client) *corev1.Secret {
	t.Helper()
	var sec corev1.Secret
	if err := c.Get(context.Background(), secretKey, &sec); err != nil {
		t.Fatal(err)
	}
	return &sec
}

func secretCA(t *testing.T, c client.Client) *x509.Certificate {
	t.Helper()
	return bundleCerts(t, getSecret(t, c).Data[CAFile])[0]
}

func TestFirstSyncCreatesTheSecret(t *testing.T) {
	var w writes
	c := newFakeClient(&w)
	clk := &clock{t: testStart}
	s := newSource(c, clk)

	if _, err := s.GetCertificate(&tls.ClientHelloInfo{}); err == nil {
		t.Fatal("GetCertificate succeeds before the first load")
	}
	if s.CABundle() != nil {
		t.Fatal("CABundle before the first load")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Ready(ctx); err == nil {
		t.Fatal("Ready before the first load")
	}

	syncOK(t, s)
	if err := s.Ready(context.Background()); err != nil {
		t.Fatal(err)
	}
	sec := getSecret(t, c)
	for _, k := range []string{CAFile, CAKeyFile, CertFile, KeyFile, BundleFile} {
		if len(sec.Data[k]) == 0 {
			t.Errorf("secret has no %s", k)
		}
	}
	if sec.Type != corev1.SecretTypeTLS {
		t.Errorf("secret type %q", sec.Type)
	}
	if sec.Annotations[BundleSinceAnnotation] != testStart.Format(time.RFC3339) {
		t.Errorf("%s = %q", BundleSinceAnnotation, sec.Annotations[BundleSinceAnnotation])
	}
	l := leaf(t, s)
	if err := checkNames(l, testNames); err != nil {
		t.Error(err)
	}
	if err := verify(l, s.CABundle(), clk.Now()); err != nil {
		t.Fatalf("served certificate does not verify against CABundle(): %v", err)
	}
	if got := bundleCerts(t, s.CABundle()); len(got) != 1 || !got[0].Equal(secretCA(t, c)) {
		t.Fatalf("bundle holds %d CAs, want the secret's CA only", len(got))
	}
	if string(sec.Data[CertFile]) != string(encodeCert(l)) {
		t.Fatal("served certificate is not the secret's")
	}

	// A steady state writes nothing.
	clk.Add(time.Hour)
	syncOK(t, s)
	if w.creates.Load() != 1 || w.updates.Load() != 0 {
		t.Fatalf("%d creates, %d updates; want 1, 0", w.creates.Load(), w.updates.Load())
	}
	if !leaf(t, s).Equal(l) {
		t.Fatal("certificate changed without a reason")
	}
}

// Replica B reads no Secret, replica A creates one before B's Create: B
// must adopt A's certificate, not keep its own.
func TestReplicasRacingToCreateAgree(t *testing.T) {
	clk := &clock{t: testStart}
	base := newFakeClient(nil)
	a := newSource(base, clk)
	var sawAlreadyExists atomic.Bool
	raced := false
	cb := interceptor.NewClient(base, interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if !raced {
				raced = true
				if err := a.Sync(ctx); err != nil {
					return err
				}
				return apierrors.NewNotFound(secretsGVR, key.Name)
			}
			return c.Get(ctx, key, obj, opts...)
		},
		Create: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.CreateOption) error {
			err := c.Create(ctx, obj, opts...)
			if apierrors.IsAlreadyExists(err) {
				sawAlreadyExists.Store(true)
			}
			return err
		},
	})
	b := newSource(cb, clk)
	syncOK(t, b)
	if !sawAlreadyExists.Load() {
		t.Fatal("the race was not simulated: B's Create did not see AlreadyExists")
	}
	if !leaf(t, a).Equal(leaf(t, b)) {
		t.Fatal("the replicas serve different certificates")
	}
	if string(a.CABundle()) != string(b.CABundle()) {
		t.Fatal("the replicas publish different CA bundles")
	}
	if string(getSecret(t, base).Data[CertFile]) != string(encodeCert(leaf(t, b))) {
		t.Fatal("B serves a certificate that is not in the secret")
	}
}

// Both replicas find a broken Secret and fix it; the one whose Update loses
// (Conflict) must adopt the winner's certificate.
func TestReplicasRacingToRepairAgree(t *testing.T) {
	clk := &clock{t: testStart}
	base := newFakeClient(nil)
	syncOK(t, newSource(base, clk))
	sec := getSecret(t, base)
	sec.Data[CertFile] = []byte("garbage")
	if err := base.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}

	a := newSource(base, clk)
	var conflicts atomic.Int32
	raced := false
	cb := interceptor.NewClient(base, interceptor.Funcs{
		Update: func(ctx context.Context, c client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
			if !raced {
				raced = true
				if err := a.Sync(ctx); err != nil {
					return err
				}
			}
			err := c.Update(ctx, obj, opts...)
			if apierrors.IsConflict(err) {
				conflicts.Add(1)
			}
			return err
		},
	})
	b := newSource(cb, clk)
	syncOK(t, b)
	if conflicts.Load() != 1 {
		t.Fatalf("%d conflicts, want 1", conflicts.Load())
	}
	if !leaf(t, a).Equal(leaf(t, b)) {
		t.Fatal("the replicas serve different certificates")
	}
	if !secretCA(t, base).Equal(bundleCerts(t, b.CABundle())[0]) {
		t.Fatal("B publishes a CA that is not the secret's")
	}
}

func TestServingCertificateRenewedWithTheSameCA(t *testing.T) {
	var w writes
	c := newFakeClient(&w)
	clk := &clock{t: testStart}
	s := newSource(c, clk)
	s.CAValidity = 365 * 24 * time.Hour
	syncOK(t, s)
	first, bundle := leaf(t, s), s.CABundle()

	// Lifetime 30 days + 1 h: renewal is due with less than ~10 days 20 min left.
	clk.Set(testStart.Add(19 * 24 * time.Hour))
	syncOK(t, s)
	if !leaf(t, s).Equal(first) || w.updates.Load() != 0 {
		t.Fatal("renewed before the renew point")
	}
	clk.Set(testStart.Add(20 * 24 * time.Hour))
	syncOK(t, s)
	renewed := leaf(t, s)
	if renewed.Equal(first) {
		t.Fatal("not renewed after the renew point")
	}
	if string(s.CABundle()) != string(bundle) {
		t.Fatal("the CA bundle changed on a serving renewal")
	}
	if err := verify(renewed, bundle, clk.Now()); err != nil {
		t.Fatalf("renewed certificate does not verify against the unchanged bundle: %v", err)
	}
	if !renewed.NotAfter.After(first.NotAfter) {
		t.Fatal("the renewed certificate does not last longer")
	}
	// Another replica picks it up from the Secret.
	other := newSource(c, clk)
	syncOK(t, other)
	if !leaf(t, other).Equal(renewed) {
		t.Fatal("another replica does not load the renewed certificate")
	}
}

func TestCARotationPhases(t *testing.T) {
	var w writes
	c := newFakeClient(&w)
	clk := &clock{t: testStart}
	s := newSource(c, clk)
	s.CertValidity = 90 * 24 * time.Hour // as long as the CA: only the CA drives renewal here
	other := newSource(c, clk)           // a second replica, syncing after s each round
	syncBoth := func() {
		t.Helper()
		syncOK(t, s)
		syncOK(t, other)
		if !leaf(t, s).Equal(leaf(t, other)) || string(s.CABundle()) != string(other.CABundle()) {
			t.Fatal("the replicas disagree")
		}
	}
	syncBoth()
	leaf0, bundle0, ca0 := leaf(t, s), s.CABundle(), secretCA(t, c)

	clk.Set(testStart.Add(59 * 24 * time.Hour))
	syncBoth()
	if string(s.CABundle()) != string(bundle0) {
		t.Fatal("CA rotation started before the renew point")
	}

	// Phase 1: new CA published next to the old one; old-CA certificate
	// still served.
	t1 := testStart.Add(61 * 24 * time.Hour)
	clk.Set(t1)
	syncBoth()
	bundle1 := s.CABundle()
	cas := bundleCerts(t, bundle1)
	if len(cas) != 2 {
		t.Fatalf("phase 1: bundle holds %d CAs, want 2", len(cas))
	}
	ca1 := secretCA(t, c)
	if ca1.Equal(ca0) || !cas[0].Equal(ca1) || !cas[1].Equal(ca0) {
		t.Fatal("phase 1: bundle is not new CA + old CA")
	}
	if !leaf(t, s).Equal(leaf0) {
		t.Fatal("phase 1: the served certificate changed before the new CA was published for an Interval")
	}
	if got := getSecret(t, c).Annotations[BundleSinceAnnotation]; got != t1.Format(time.RFC3339) {
		t.Fatalf("%s = %q, want %s", BundleSinceAnnotation, got, t1.Format(time.RFC3339))
	}
	clk.Set(t1.Add(59 * time.Second))
	syncBoth()
	if !leaf(t, s).Equal(leaf0) {
		t.Fatal("phase 1: switched after less than an Interval")
	}

	// Phase 2: serve a certificate signed by the new CA.
	clk.Set(t1.Add(time.Minute))
	syncBoth()
	leaf2 := leaf(t, s)
	if leaf2.Equal(leaf0) {
		t.Fatal("phase 2: still serving the old-CA certificate")
	}
	if leaf2.CheckSignatureFrom(ca1) != nil {
		t.Fatal("phase 2: served certificate is not signed by the new CA")
	}
	if err := verify(leaf2, bundle1, clk.Now()); err != nil {
		t.Fatalf("phase 2: a client holding the phase-1 bundle rejects the new certificate: %v", err)
	}
	if verify(leaf2, bundle0, clk.Now()) == nil {
		t.Fatal("phase 2: the new certificate verifies against the old CA alone; the test proves nothing")
	}
	if len(bundleCerts(t, s.CABundle())) != 2 {
		t.Fatal("phase 2: old CA dropped while replicas may still serve its certificate")
	}
	clk.Set(t1.Add(time.Minute + 59*time.Second))
	syncBoth()
	if len(bundleCerts(t, s.CABundle())) != 2 {
		t.Fatal("phase 2: old CA dropped less than an Interval after the switch")
	}

	// Phase 3: the old CA leaves the bundle.
	clk.Set(t1.Add(2 * time.Minute))
	syncBoth()
	if got := bundleCerts(t, s.CABundle()); len(got) != 1 || !got[0].Equal(ca1) {
		t.Fatalf("phase 3: bundle holds %d CAs, want the new CA only", len(got))
	}
	if !leaf(t, s).Equal(leaf2) {
		t.Fatal("phase 3: served certificate changed")
	}
	if err := verify(leaf2, s.CABundle(), clk.Now()); err != nil {
		t.Fatal(err)
	}

	// Settled: nothing more to write.
	before := w.updates.Load()
	clk.Set(t1.Add(time.Hour))
	syncBoth()
	if w.updates.Load() != before {
		t.Fatal("writes after the rotation settled")
	}
}

// An old CA that expires during phase 2 is dropped without waiting.
func TestExpiredPreviousCAIsDropped(t *testing.T) {
	c := newFakeClient(nil)
	clk := &clock{t: testStart}
	s := newSource(c, clk)
	s.CertValidity = 90 * 24 * time.Hour
	syncOK(t, s)
	ca0 := secretCA(t, c)
	clk.Set(testStart.Add(61 * 24 * time.Hour))
	syncOK(t, s) // phase 1
	clk.Add(time.Minute)
	syncOK(t, s) // phase 2
	// Pretend the switch was just now, and the old CA is past its end.
	clk.Set(ca0.NotAfter)
	sec := getSecret(t, c)
	sec.Annotations[CertSinceAnnotation] = clk.Now().Format(time.RFC3339)
	if err := c.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	syncOK(t, s)
	if n := len(bundleCerts(t, s.CABundle())); n != 1 {
		t.Fatalf("bundle holds %d CAs after the old one expired", n)
	}
}

func TestCorruptSecretIsRegenerated(t *testing.T) {
	foreignCA, err := newCA(testStart, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := issue(foreignCA, testNames, testStart, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	foreignCert, foreignKey := foreign.certPEM, foreign.keyPEM
	cases := []struct {
		name   string
		mutate func(d map[string][]byte)
		names  []string // DNS names of the repairing Source; default testNames
		newCA  bool
	}{
		{name: "garbage certificate", mutate: func(d map[string][]byte) { d[CertFile] = []byte("garbage") }},
		{name: "key of another certificate", mutate: func(d map[string][]byte) { d[KeyFile] = foreignKey }},
		{name: "certificate of another CA", mutate: func(d map[string][]byte) { d[CertFile], d[KeyFile] = foreignCert, foreignKey }},
		{name: "wrong DNS names", mutate: func(map[string][]byte) {}, names: DNSNames("renamed", testNS)},
		{name: "garbage bundle", mutate: func(d map[string][]byte) { d[BundleFile] = []byte("-----BEGIN CERTIFICATE-----\nnope\n") }},
		{name: "no bundle", mutate: func(d map[string][]byte) { delete(d, BundleFile) }},
		{name: "garbage CA", mutate: func(d map[string][]byte) { d[CAFile] = []byte("garbage") }, newCA: true},
		{name: "CA key mismatch", mutate: func(d map[string][]byte) { d[CAKeyFile] = foreignKey }, newCA: true},
		{name: "CA is not a CA", mutate: func(d map[string][]byte) { d[CAFile], d[CAKeyFile] = foreignCert, foreignKey }, newCA: true},
		{name: "empty", mutate: func(d map[string][]byte) { clear(d) }, newCA: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newFakeClient(nil)
			clk := &clock{t: testStart}
			syncOK(t, newSource(c, clk))
			ca0 := secretCA(t, c)
			sec := getSecret(t, c)
			tc.mutate(sec.Data)
			if err := c.Update(context.Background(), sec); err != nil {
				t.Fatal(err)
			}
			clk.Add(time.Minute)
			s := newSource(c, clk)
			if tc.names != nil {
				s.DNSNames = tc.names
			}
			syncOK(t, s)
			l := leaf(t, s)
			if err := checkNames(l, s.DNSNames); err != nil {
				t.Fatal(err)
			}
			p := x509.NewCertPool()
			p.AppendCertsFromPEM(s.CABundle())
			if _, err := l.Verify(x509.VerifyOptions{Roots: p, DNSName: s.DNSNames[0], CurrentTime: clk.Now()}); err != nil {
				t.Fatalf("repaired certificate does not verify against the bundle: %v", err)
			}
			if ca := secretCA(t, c); ca.Equal(ca0) == tc.newCA {
				t.Fatalf("CA replaced = %v, want %v", !ca.Equal(ca0), tc.newCA)
			}
			// What is in the Secret now is valid as it is: another
			// replica loads it without writing.
			var w writes
			c2 := interceptor.NewClient(c, interceptor.Funcs{Update: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.UpdateOption) error {
				w.updates.Add(1)
				return cl.Update(ctx, obj, opts...)
			}})
			again := newSource(c2, clk)
			again.DNSNames = s.DNSNames
			syncOK(t, again)
			if w.updates.Load() != 0 || !leaf(t, again).Equal(l) {
				t.Fatal("the repaired secret is not stable")
			}
		})
	}
}

// A real TLS server that takes its certificate from GetCertificate keeps
// answering a client that trusts CABundle() through a CA rotation, without
// a restart.
func TestHandshakeAcrossRotation(t *testing.T) {
	c := newFakeClient(nil)
	clk := &clock{t: testStart}
	s := newSource(c, clk)
	syncOK(t, s)

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetCertificate: s.GetCertificate})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }),
		// The old-CA-only client's rejected handshake is expected.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	// get makes a new connection (so a new handshake) trusting bundle and
	// returns the certificate the server presented.
	get := func(bundle []byte) (*x509.Certificate, error) {
		tr := &http.Transport{
			DisableKeepAlives: true,
			TLSClientConfig:   &tls.Config{RootCAs: pool(t, bundle), ServerName: testNames[2], Time: clk.Now},
			DialContext:       (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get("https://" + ln.Addr().String())
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != "ok" {
			return nil, errors.New("unexpected body " + string(body))
		}
		return resp.TLS.PeerCertificates[0], nil
	}
	mustGet := func(phase string, bundle []byte, want *x509.Certificate) {
		t.Helper()
		got, err := get(bundle)
		if err != nil {
			t.Fatalf("%s: %v", phase, err)
		}
		if !got.Equal(want) {
			t.Fatalf("%s: server presented serial %v, want %v", phase, got.SerialNumber, want.SerialNumber)
		}
	}

	first, bundle0 := leaf(t, s), s.CABundle()
	mustGet("before", bundle0, first)

	// Serving renewals (30-day certificates, 90-day CA): same bundle, new
	// certificate at the next handshake.
	clk.Set(testStart.Add(20 * 24 * time.Hour))
	syncOK(t, s)
	if leaf(t, s).Equal(first) {
		t.Fatal("no serving renewal at day 20")
	}
	mustGet("after the day-20 renewal", bundle0, leaf(t, s))
	clk.Set(testStart.Add(40 * 24 * time.Hour))
	syncOK(t, s)
	leaf0 := leaf(t, s)
	mustGet("after the day-40 renewal", bundle0, leaf0)
	if string(s.CABundle()) != string(bundle0) {
		t.Fatal("the bundle changed on a serving renewal")
	}

	// CA rotation at day 61 (the serving certificate is due too, but waits
	// for phase 2).
	t1 := testStart.Add(61 * 24 * time.Hour)
	clk.Set(t1)
	syncOK(t, s) // phase 1
	bundle1 := s.CABundle()
	if len(bundleCerts(t, bundle1)) != 2 {
		t.Fatal("phase 1 did not start")
	}
	mustGet("phase 1, old bundle", bundle0, leaf0)
	mustGet("phase 1, new bundle", bundle1, leaf0)

	clk.Set(t1.Add(time.Minute))
	syncOK(t, s) // phase 2
	leaf2 := leaf(t, s)
	mustGet("phase 2, phase-1 bundle", bundle1, leaf2)
	if _, err := get(bundle0); err == nil {
		t.Fatal("phase 2: a client trusting only the old CA accepted the new certificate; the server did not switch")
	}

	clk.Set(t1.Add(2 * time.Minute))
	syncOK(t, s) // phase 3
	mustGet("phase 3", s.CABundle(), leaf2)
	mustGet("phase 3, phase-1 bundle", bundle1, leaf2)
}

func TestStartLoadsAndStops(t *testing.T) {
	c := newFakeClient(nil)
	s := &Source{Client: c, Namespace: testNS, SecretName: testSecret, DNSNames: testNames, Interval: 20 * time.Millisecond, Log: logr.Discard()}
	if s.NeedLeaderElection() {
		t.Fatal("every replica needs the certificate")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer rcancel()
	if err := s.Ready(rctx); err != nil {
		t.Fatal(err)
	}
	l := leaf(t, s)
	// Defaults: 90-day serving certificate, 5-year CA.
	if d := l.NotAfter.Sub(l.NotBefore); d != DefaultCertValidity+time.Hour {
		t.Errorf("serving certificate lifetime %v", d)
	}
	if ca := secretCA(t, c); ca.NotAfter.Sub(ca.NotBefore) != DefaultCAValidity+time.Hour {
		t.Errorf("CA lifetime %v", ca.NotAfter.Sub(ca.NotBefore))
	}
	// The Secret changes behind its back (another replica): Start picks it up.
	sec := getSecret(t, c)
	sec.Data[CertFile] = []byte("garbage")
	if err := c.Update(context.Background(), sec); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for leaf(t, s).Equal(l) {
		if time.Now().After(deadline) {
			t.Fatal("Start did not re-sync")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Start did not return")
	}
}

func webhookConfigs() (*admissionregistrationv1.ValidatingWebhookConfiguration, *admissionregistrationv1.MutatingWebhookConfiguration) {
	svc := admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{Name: "s", Namespace: "n"}}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "v"},
			Webhooks:   []admissionregistrationv1.ValidatingWebhook{{Name: "a.example.com", ClientConfig: svc}, {Name: "b.example.com", ClientConfig: svc}},
		}, &admissionregistrationv1.MutatingWebhookConfiguration{
			ObjectMeta: metav1.ObjectMeta{Name: "m"},
			Webhooks:   []admissionregistrationv1.MutatingWebhook{{Name: "c.example.com", ClientConfig: svc}},
		}
}

// bundles returns the caBundle of every webhook of v and m.
func bundles(t *testing.T, c client.Client) []string {
	t.Helper()
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	var m admissionregistrationv1.MutatingWebhookConfiguration
	if err := c.Get(context.Background(), types.NamespacedName{Name: "v"}, &v); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), types.NamespacedName{Name: "m"}, &m); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, w := range v.Webhooks {
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Name != "s" {
			t.Fatalf("webhook %s lost its service reference", w.Name)
		}
		out = append(out, string(w.ClientConfig.CABundle))
	}
	for _, w := range m.Webhooks {
		if w.ClientConfig.Service == nil || w.ClientConfig.Service.Name != "s" {
			t.Fatalf("webhook %s lost its service reference", w.Name)
		}
		out = append(out, string(w.ClientConfig.CABundle))
	}
	return out
}

func allEqual(got []string, want string) bool {
	for _, g := range got {
		if g != want {
			return false
		}
	}
	return len(got) > 0
}

func TestBundleInjectorPatchesOnlyCABundle(t *testing.T) {
	v, m := webhookConfigs()
	var patches atomic.Int32
	c := fake.NewClientBuilder().WithScheme(scheme()).WithObjects(v, m).WithInterceptorFuncs(interceptor.Funcs{
		Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
			patches.Add(1)
			return cl.Patch(ctx, obj, p, opts...)
		},
	}).Build()
	var mu sync.Mutex
	bundle, calls := []byte(nil), 0
	inj := &BundleInjector{Reader: c, Writer: c, Validating: []string{"absent", "v"}, Mutating: []string{"m", "absent"},
		Bundle: func() []byte { mu.Lock(); defer mu.Unlock(); calls++; return bundle }, Log: logr.Discard()}
	if inj.NeedLeaderElection() {
		t.Fatal("NeedLeaderElection")
	}
	if err := inj.Inject(context.Background()); err == nil {
		t.Fatal("no error without a bundle")
	}
	bundle = []byte("PEM-1")
	if err := inj.Inject(context.Background()); err != nil {
		t.Fatalf("missing configurations must be skipped: %v", err)
	}
	if got := bundles(t, c); !allEqual(got, "PEM-1") {
		t.Fatalf("caBundles %q", got)
	}
	if patches.Load() != 2 {
		t.Fatalf("%d patches, want 2 (one per configuration)", patches.Load())
	}
	if err := inj.Inject(context.Background()); err != nil || patches.Load() != 2 {
		t.Fatalf("unchanged bundle: %v, %d patches (want no new one)", err, patches.Load())
	}

	// Start publishes a changed bundle without waiting for the Interval,
	// and repairs a caBundle someone cleared, every Interval.
	inj.Interval = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	mu.Lock()
	calls = 0
	mu.Unlock()
	go func() { done <- inj.Start(ctx) }()
	// Change the bundle only after Start's first round saw PEM-1, so the
	// change itself, not the round at start, must trigger the patch.
	waitFor(t, "Start's first round", func() bool { mu.Lock(); defer mu.Unlock(); return calls > 0 })
	mu.Lock()
	bundle = []byte("PEM-2")
	mu.Unlock()
	waitFor(t, "the changed bundle", func() bool { return allEqual(bundles(t, c), "PEM-2") })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	inj.Interval = 50 * time.Millisecond
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() { done <- inj.Start(ctx) }()
	waitFor(t, "the first round", func() bool { return allEqual(bundles(t, c), "PEM-2") })
	var cur admissionregistrationv1.MutatingWebhookConfiguration
	if err := c.Get(context.Background(), types.NamespacedName{Name: "m"}, &cur); err != nil {
		t.Fatal(err)
	}
	cur.Webhooks[0].ClientConfig.CABundle = nil
	if err := c.Update(context.Background(), &cur); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the cleared caBundle to be restored", func() bool { return allEqual(bundles(t, c), "PEM-2") })
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func encodeCert(c *x509.Certificate) []byte {
	return (&state{bundle: []*x509.Certificate{c}}).bundlePEM()
}
