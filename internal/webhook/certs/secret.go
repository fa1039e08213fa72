package certs

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Keys of the certificate Secret besides CAFile, CertFile and KeyFile
// (ca.crt, tls.crt, tls.key: the names a kubernetes.io/tls Secret uses).
const (
	// CAKeyFile is the private key of the CA in ca.crt.
	CAKeyFile = "ca.key"
	// BundleFile holds every CA a client must trust now: ca.crt, plus the
	// previous CA while a CA rotation is under way. Clients (the webhook
	// configurations' caBundle) must trust this, not ca.crt.
	BundleFile = "ca-bundle.crt"
)

// Annotations on the certificate Secret that carry the rotation's clock, so
// that any replica, including one started in the middle of a rotation, takes
// the next step at the same time.
const (
	// BundleSinceAnnotation records when the CAs in ca-bundle.crt were
	// last changed (RFC 3339).
	BundleSinceAnnotation = "seccomp-operator.dev/ca-bundle-since"
	// CertSinceAnnotation records when tls.crt was last replaced (RFC 3339).
	CertSinceAnnotation = "seccomp-operator.dev/serving-cert-since"
)

// Defaults of Source.
const (
	DefaultCAValidity    = 5 * 365 * 24 * time.Hour
	DefaultCertValidity  = 90 * 24 * time.Hour
	DefaultRenewFraction = 1.0 / 3
	DefaultInterval      = time.Minute
)

// How long to wait before retrying after an error (capped at the Interval),
// and how many optimistic-concurrency conflicts one Sync absorbs.
const (
	retryDelay   = 2 * time.Second
	maxConflicts = 5
)

// The manager reads and writes only its own Secret and webhook
// configurations, by name (the defaults of --webhook-cert-secret,
// --webhook-config-name and pods.DefaultConfigName). RBAC cannot restrict
// create by name: config/rbac/manager_admission_policy.yaml does.
// +kubebuilder:rbac:groups="",namespace=seccomp-operator,resources=secrets,verbs=create
// +kubebuilder:rbac:groups="",namespace=seccomp-operator,resources=secrets,resourceNames=seccomp-operator-webhook-tls,verbs=get;update
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,resourceNames=seccomp-operator-validating-webhook,verbs=get;patch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=mutatingwebhookconfigurations,resourceNames=seccomp-operator-pods,verbs=get;patch

// Source keeps the webhook's CA and serving certificate in one Secret.
//
// Every replica runs a Source on the same Secret and serves whatever the
// Secret holds, so all replicas present certificates from the same CA and
// one caBundle fits them all. The Secret is the only shared state: a replica
// loads a certificate into memory only after reading it from the Secret or
// after its own write of it succeeded (Create, or Update with the
// resourceVersion it read). A replica that loses a race (AlreadyExists,
// Conflict) re-reads and adopts the winner's certificate, so two CAs are
// never in circulation except on purpose during a rotation.
//
// Rotation. Replicas re-read the Secret every Interval, so any change takes
// up to one Interval to reach all of them; each step below waits that long
// before doing something that relies on the previous step having arrived
// everywhere (all replicas must use the same Interval):
//
//  1. Serving certificate: when less than RenewFraction of its lifetime is
//     left, a new one signed by the same CA replaces tls.crt. Clients
//     already trust that CA; GetCertificate serves it at the next handshake.
//  2. CA, phase 1 (publish): when less than RenewFraction of the CA's
//     lifetime is left, a new CA replaces ca.crt/ca.key and ca-bundle.crt
//     becomes new CA + old CA (ca-bundle-since = now). tls.crt, still signed
//     by the old CA, keeps being served. BundleInjectors push the two-CA
//     bundle into the webhook configurations.
//  3. CA, phase 2 (switch): once ca-bundle-since is at least one Interval
//     old, every replica and every webhook configuration has the two-CA
//     bundle, so tls.crt is replaced by a certificate signed by the new CA
//     (serving-cert-since = now).
//  4. CA, phase 3 (drop): once serving-cert-since is at least one Interval
//     old (every replica serves the new certificate), or the old CA has
//     expired, ca-bundle.crt is reduced to the new CA.
//
// The phase is read from the Secret itself (is tls.crt signed by ca.crt?
// does the bundle hold other CAs?), not from memory, so restarts and
// replicas joining mid-rotation continue where the Secret says.
//
// Contents that cannot be used (bad PEM, a key that does not match its
// certificate, a serving certificate for other DNS names or not signed by a
// CA of the bundle, an expired certificate) are replaced, with a log line
// saying why; a bad CA replaces everything.
//
// Client must read without a cache (client.New, or the manager's client
// with Secrets excluded from its cache): the Secret is read with Get, and
// RBAC grants get/create/update on Secrets in the operator's namespace only.
type Source struct {
	Client                client.Client
	Namespace, SecretName string
	DNSNames              []string
	// CAValidity and CertValidity default to DefaultCAValidity and
	// DefaultCertValidity. A serving certificate never outlives its CA.
	CAValidity, CertValidity time.Duration
	// RenewFraction: renew when less than this fraction of a certificate's
	// lifetime is left (default 1/3).
	RenewFraction float64
	// Interval is how often Start re-reads and checks the Secret (default
	// 1 min), and how long each rotation phase lasts at least.
	Interval time.Duration
	// Now is for tests; default time.Now.
	Now func() time.Time
	Log logr.Logger

	syncMu sync.Mutex // one Sync at a time

	mu     sync.RWMutex
	cert   *tls.Certificate
	bundle []byte

	readyInit sync.Once
	readyCh   chan struct{}
	readyDone sync.Once
}

// Start syncs now and every Interval until ctx is done (a manager.Runnable).
// Errors are logged and retried sooner; they do not stop the manager, which
// keeps serving the last certificate loaded.
func (s *Source) Start(ctx context.Context) error {
	interval := s.interval()
	for {
		wait := interval
		if err := s.Sync(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Log.Error(err, "cannot sync the webhook certificate; retrying", "secret", s.key())
			wait = min(retryDelay, interval)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// NeedLeaderElection is false: every replica serves webhooks, so every
// replica needs the certificate.
func (s *Source) NeedLeaderElection() bool { return false }

// GetCertificate returns the current serving certificate (for
// tls.Config.GetCertificate), or an error before the first load.
func (s *Source) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.cert == nil {
		return nil, fmt.Errorf("webhook serving certificate from secret %s is not loaded yet", s.key())
	}
	return s.cert, nil
}

// CABundle returns the PEM of every CA a client must trust now, or nil
// before the first load.
func (s *Source) CABundle() []byte {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return bytes.Clone(s.bundle)
}

// Ready blocks until a certificate is loaded or ctx ends.
func (s *Source) Ready(ctx context.Context) error {
	select {
	case <-s.ready():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for the webhook certificate from secret %s: %w", s.key(), ctx.Err())
	}
}

// Sync does one round: read the Secret, create it or take the next step of
// a renewal if needed, and load the result into memory.
func (s *Source) Sync(ctx context.Context) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if len(s.DNSNames) == 0 {
		return fmt.Errorf("webhook certificate: no DNS names")
	}
	key := s.key()
	for conflicts := 0; ; {
		now := s.now()
		var sec corev1.Secret
		err := s.Client.Get(ctx, key, &sec)
		if apierrors.IsNotFound(err) {
			st, err := s.fresh(now)
			if err != nil {
				return fmt.Errorf("create webhook certificate: %w", err)
			}
			sec = corev1.Secret{
				ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.SecretName,
					Labels: map[string]string{"app.kubernetes.io/managed-by": "seccomp-operator"}},
				Type: corev1.SecretTypeTLS,
			}
			st.writeTo(&sec)
			if err := s.Client.Create(ctx, &sec); err != nil {
				if apierrors.IsAlreadyExists(err) {
					// Another replica created it between our Get and
					// Create: use its certificate, not ours.
					s.Log.V(1).Info("another replica created the webhook certificate secret; using its certificate", "secret", key)
					if conflicts++; conflicts > maxConflicts {
						return fmt.Errorf("create webhook certificate secret %s: it exists but cannot be read consistently", key)
					}
					continue
				}
				return fmt.Errorf("create webhook certificate secret %s: %w", key, err)
			}
			s.Log.Info("created the webhook certificate secret", "secret", key)
			s.load(st)
			return nil
		}
		if err != nil {
			return fmt.Errorf("read webhook certificate secret %s: %w", key, err)
		}
		st, changes, err := s.reconcile(&sec, now)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			s.load(st)
			return nil
		}
		st.writeTo(&sec)
		// sec carries the resourceVersion we read: the update fails with
		// Conflict if another replica wrote in between.
		if err := s.Client.Update(ctx, &sec); err != nil {
			if apierrors.IsConflict(err) {
				s.Log.V(1).Info("another replica updated the webhook certificate secret; re-reading it", "secret", key)
				if conflicts++; conflicts > maxConflicts {
					return fmt.Errorf("update webhook certificate secret %s: %d conflicts in a row: %w", key, conflicts, err)
				}
				continue
			}
			return fmt.Errorf("update webhook certificate secret %s (%s): %w", key, strings.Join(changes, "; "), err)
		}
		s.Log.Info("updated the webhook certificate secret", "secret", key, "changes", changes)
		s.load(st)
		return nil
	}
}

// state is the parsed, validated content of the Secret.
type state struct {
	ca      *keyPair
	serving *keyPair
	// bundle is ca.cert first, then any other CA still trusted.
	bundle                 []*x509.Certificate
	bundleSince, certSince time.Time
}

func (st *state) bundlePEM() []byte {
	var b []byte
	for _, c := range st.bundle {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return b
}

// writeTo sets the Secret's certificate keys and annotations from st,
// keeping any other keys and annotations.
func (st *state) writeTo(sec *corev1.Secret) {
	data := make(map[string][]byte, len(sec.Data)+5)
	for k, v := range sec.Data {
		data[k] = v
	}
	data[CAFile] = st.ca.certPEM
	data[CAKeyFile] = st.ca.keyPEM
	data[CertFile] = st.serving.certPEM
	data[KeyFile] = st.serving.keyPEM
	data[BundleFile] = st.bundlePEM()
	sec.Data = data
	ann := make(map[string]string, len(sec.Annotations)+2)
	for k, v := range sec.Annotations {
		ann[k] = v
	}
	ann[BundleSinceAnnotation] = st.bundleSince.UTC().Format(time.RFC3339)
	ann[CertSinceAnnotation] = st.certSince.UTC().Format(time.RFC3339)
	sec.Annotations = ann
}

// fresh makes a new CA and serving certificate.
func (s *Source) fresh(now time.Time) (*state, error) {
	ca, err := newCA(now, s.caValidity())
	if err != nil {
		return nil, err
	}
	srv, err := issue(ca, s.DNSNames, now, s.certValidity())
	if err != nil {
		return nil, err
	}
	return &state{ca: ca, serving: srv, bundle: []*x509.Certificate{ca.cert}, bundleSince: now, certSince: now}, nil
}

// reconcile validates the Secret's contents and takes at most one step of
// each kind of renewal. It returns the state to write and load, and why it
// differs from the Secret (nothing: no write needed).
func (s *Source) reconcile(sec *corev1.Secret, now time.Time) (*state, []string, error) {
	log := s.Log.WithValues("secret", s.key())
	d := sec.Data
	ca, err := parseCA(d[CAFile], d[CAKeyFile], now)
	if err != nil {
		// Without a usable CA nothing else in the Secret can be trusted.
		log.Info("the webhook CA in the secret is unusable; generating a new CA and serving certificate", "reason", err.Error())
		st, err := s.fresh(now)
		if err != nil {
			return nil, nil, fmt.Errorf("regenerate webhook certificate: %w", err)
		}
		return st, []string{"new CA and serving certificate (old CA unusable)"}, nil
	}
	var changes []string
	st := &state{ca: ca, bundle: []*x509.Certificate{ca.cert}}

	// Bundle: ca.crt first, then other CAs that have not expired.
	old, err := parseCerts(d[BundleFile])
	if err != nil {
		log.Info("the webhook CA bundle in the secret is unusable; rebuilding it from the current CA", "reason", err.Error())
		old = nil
	}
	for _, c := range old {
		switch {
		case c.Equal(ca.cert), slices.ContainsFunc(st.bundle, c.Equal):
		case !c.IsCA:
			log.Info("dropping a non-CA certificate from the webhook CA bundle", "subject", c.Subject.String())
		case !now.Before(c.NotAfter):
			log.Info("dropping an expired CA from the webhook CA bundle", "serial", c.SerialNumber.String(), "notAfter", c.NotAfter)
		default:
			st.bundle = append(st.bundle, c)
		}
	}

	st.bundleSince = s.since(sec, BundleSinceAnnotation, now)
	st.certSince = s.since(sec, CertSinceAnnotation, now)

	// Serving certificate: must match its key, be for our names, and chain
	// to a CA of the bundle now.
	var signer *x509.Certificate
	srv, err := parseKeyPair(d[CertFile], d[KeyFile])
	if err == nil {
		err = checkNames(srv.cert, s.DNSNames)
	}
	if err == nil {
		if signer = findSigner(srv.cert, st.bundle, now); signer == nil {
			err = errors.New("not signed by a CA of the bundle, or expired")
		}
	}
	st.serving = srv
	if err != nil {
		// Nothing valid is being served from this Secret, so there is
		// nothing to keep working: issue from the current CA at once.
		log.Info("the webhook serving certificate in the secret is unusable; issuing a new one", "reason", err.Error())
		if err := s.reissue(st, now); err != nil {
			return nil, nil, err
		}
		signer = ca.cert
		changes = append(changes, "new serving certificate (old one unusable)")
	}

	interval := s.interval()
	switch {
	case !signer.Equal(ca.cert):
		// Phase 2: the bundle with the new CA has had an Interval to reach
		// every replica and webhook configuration; serve from the new CA.
		// Until then keep serving the old-CA certificate, even if it is due
		// for renewal: it is still valid (findSigner checked).
		if !now.Before(st.bundleSince.Add(interval)) {
			if err := s.reissue(st, now); err != nil {
				return nil, nil, err
			}
			changes = append(changes, "serve a certificate signed by the new CA")
		}
	default:
		if len(st.bundle) > 1 && (!now.Before(st.certSince.Add(interval))) {
			// Phase 3: every replica has served the new-CA certificate for
			// an Interval; the old CA is no longer needed.
			st.bundle = st.bundle[:1]
			changes = append(changes, "drop the previous CA from the bundle")
		}
		switch {
		case len(st.bundle) == 1 && s.due(ca.cert, now):
			// Phase 1: publish a new CA next to the old one; the old one
			// keeps signing what is served until phase 2.
			next, err := newCA(now, s.caValidity())
			if err != nil {
				return nil, nil, fmt.Errorf("renew webhook CA: %w", err)
			}
			st.ca = next
			st.bundle = []*x509.Certificate{next.cert, ca.cert}
			changes = append(changes, "publish a new CA in the bundle")
		case s.due(st.serving.cert, now):
			if err := s.reissue(st, now); err != nil {
				return nil, nil, err
			}
			changes = append(changes, "renew the serving certificate")
		}
	}

	if !sameCerts(st.bundle, old) {
		st.bundleSince = now
	}
	// Anything else that differs (missing annotations, a bundle in another
	// PEM layout) is normalised too.
	probe := sec.DeepCopy()
	st.writeTo(probe)
	if len(changes) == 0 && !equalSecretContent(sec, probe) {
		changes = append(changes, "normalise the secret")
	}
	return st, changes, nil
}

// reissue replaces st's serving certificate with one signed by st.ca.
func (s *Source) reissue(st *state, now time.Time) error {
	srv, err := issue(st.ca, s.DNSNames, now, s.certValidity())
	if err != nil {
		return fmt.Errorf("renew webhook serving certificate: %w", err)
	}
	st.serving = srv
	st.certSince = now
	return nil
}

// since reads a time annotation. Missing or garbled ones count as now (the
// wait starts over, which is safe); so does one further in the future than
// clock skew between replicas explains, which would stall a rotation.
func (s *Source) since(sec *corev1.Secret, name string, now time.Time) time.Time {
	v, ok := sec.Annotations[name]
	if !ok {
		return now
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil || t.After(now.Add(s.interval())) {
		s.Log.Info("ignoring a bad annotation on the webhook certificate secret", "secret", s.key(), "annotation", name, "value", v)
		return now
	}
	return t
}

// due reports whether less than RenewFraction of c's lifetime is left.
func (s *Source) due(c *x509.Certificate, now time.Time) bool {
	f := s.RenewFraction
	if f <= 0 || f >= 1 {
		f = DefaultRenewFraction
	}
	lifetime := c.NotAfter.Sub(c.NotBefore)
	return c.NotAfter.Sub(now) < time.Duration(float64(lifetime)*f)
}

// load makes st what GetCertificate and CABundle return.
func (s *Source) load(st *state) {
	pair := &tls.Certificate{
		Certificate: [][]byte{st.serving.cert.Raw},
		PrivateKey:  st.serving.key,
		Leaf:        st.serving.cert,
	}
	bundle := st.bundlePEM()
	s.mu.Lock()
	prev, prevBundle := s.cert, s.bundle
	s.cert, s.bundle = pair, bundle
	s.mu.Unlock()
	if prev == nil || !prev.Leaf.Equal(pair.Leaf) {
		s.Log.Info("serving the webhook certificate", "secret", s.key(),
			"serial", pair.Leaf.SerialNumber.String(), "issuerSerial", st.caSerialOf(pair.Leaf), "notAfter", pair.Leaf.NotAfter)
	}
	if !bytes.Equal(prevBundle, bundle) {
		serials := make([]string, len(st.bundle))
		for i, c := range st.bundle {
			serials[i] = c.SerialNumber.String()
		}
		s.Log.Info("webhook CA bundle", "secret", s.key(), "caSerials", serials)
	}
	s.readyDone.Do(func() { close(s.ready()) })
}

// caSerialOf names the CA of the bundle that signed leaf, for logs.
func (st *state) caSerialOf(leaf *x509.Certificate) string {
	for _, c := range st.bundle {
		if leaf.CheckSignatureFrom(c) == nil {
			return c.SerialNumber.String()
		}
	}
	return ""
}

func (s *Source) ready() chan struct{} {
	s.readyInit.Do(func() { s.readyCh = make(chan struct{}) })
	return s.readyCh
}

func (s *Source) key() types.NamespacedName {
	return types.NamespacedName{Namespace: s.Namespace, Name: s.SecretName}
}

func (s *Source) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Source) interval() time.Duration {
	if s.Interval > 0 {
		return s.Interval
	}
	return DefaultInterval
}

func (s *Source) caValidity() time.Duration {
	if s.CAValidity > 0 {
		return s.CAValidity
	}
	return DefaultCAValidity
}

func (s *Source) certValidity() time.Duration {
	if s.CertValidity > 0 {
		return s.CertValidity
	}
	return DefaultCertValidity
}

// keyPair is a certificate with its private key, parsed and in PEM.
type keyPair struct {
	cert            *x509.Certificate
	key             crypto.Signer
	certPEM, keyPEM []byte
}

// parseKeyPair parses one certificate and its key, and checks they match.
func parseKeyPair(certPEM, keyPEM []byte) (*keyPair, error) {
	if len(certPEM) == 0 || len(keyPEM) == 0 {
		return nil, errors.New("certificate or key missing")
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	if len(pair.Certificate) != 1 {
		return nil, fmt.Errorf("%d certificates, want 1", len(pair.Certificate))
	}
	cert, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, err
	}
	key, ok := pair.PrivateKey.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("private key of type %T cannot sign", pair.PrivateKey)
	}
	return &keyPair{cert: cert, key: key, certPEM: certPEM, keyPEM: keyPEM}, nil
}

// parseCA parses a CA and its key and checks it can still sign.
func parseCA(certPEM, keyPEM []byte, now time.Time) (*keyPair, error) {
	ca, err := parseKeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	switch {
	case !ca.cert.BasicConstraintsValid || !ca.cert.IsCA:
		return nil, errors.New("not a CA certificate")
	case ca.cert.KeyUsage&x509.KeyUsageCertSign == 0:
		return nil, errors.New("CA certificate may not sign certificates")
	case !now.Before(ca.cert.NotAfter):
		return nil, fmt.Errorf("CA expired at %s", ca.cert.NotAfter.Format(time.RFC3339))
	}
	return ca, nil
}

// parseCerts parses a PEM bundle of certificates; anything else in it is an
// error.
func parseCerts(data []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected PEM block %q", block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, err
		}
		certs = append(certs, c)
	}
	if len(bytes.TrimSpace(rest)) > 0 {
		return nil, errors.New("data that is not PEM")
	}
	if len(certs) == 0 {
		return nil, errors.New("no certificates")
	}
	return certs, nil
}

// checkNames requires exactly the wanted DNS names (in any order): a missing
// name fails the apiserver's handshake; an extra one is a left-over of other
// settings.
func checkNames(c *x509.Certificate, want []string) error {
	got := slices.Sorted(slices.Values(c.DNSNames))
	w := slices.Sorted(slices.Values(want))
	if !slices.Equal(slices.Compact(got), slices.Compact(w)) {
		return fmt.Errorf("certificate is for %v, want %v", c.DNSNames, want)
	}
	return nil
}

// findSigner returns the CA of bundle that leaf chains to at now, or nil.
func findSigner(leaf *x509.Certificate, bundle []*x509.Certificate, now time.Time) *x509.Certificate {
	for _, ca := range bundle {
		pool := x509.NewCertPool()
		pool.AddCert(ca)
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err == nil {
			return ca
		}
	}
	return nil
}

// sameCerts compares two lists of certificates as sets.
func sameCerts(a, b []*x509.Certificate) bool {
	for _, c := range a {
		if !slices.ContainsFunc(b, c.Equal) {
			return false
		}
	}
	for _, c := range b {
		if !slices.ContainsFunc(a, c.Equal) {
			return false
		}
	}
	return true
}

// equalSecretContent compares the data and annotations of two Secrets.
func equalSecretContent(a, b *corev1.Secret) bool {
	if len(a.Data) != len(b.Data) || len(a.Annotations) != len(b.Annotations) {
		return false
	}
	for k, v := range a.Data {
		if w, ok := b.Data[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	for k, v := range a.Annotations {
		if w, ok := b.Annotations[k]; !ok || v != w {
			return false
		}
	}
	return true
}

// newCA creates a self-signed CA valid from now (less an hour, for clock
// skew) for validity.
func newCA(now time.Time, validity time.Duration) (*keyPair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webhook CA key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "seccomp-operator webhook CA"},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("webhook CA: %w", err)
	}
	return newKeyPair(der, key)
}

// issue signs a serving certificate for dnsNames with ca, valid from now
// (less an hour) for validity but never past the CA, whose expiry would
// invalidate it anyway.
func issue(ca *keyPair, dnsNames []string, now time.Time, validity time.Duration) (*keyPair, error) {
	if len(dnsNames) == 0 {
		return nil, fmt.Errorf("webhook certificate: no DNS names")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("webhook serving key: %w", err)
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.cert.NotAfter) {
		notAfter = ca.cert.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	return newKeyPair(der, key)
}

func newKeyPair(der []byte, key *ecdsa.PrivateKey) (*keyPair, error) {
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return &keyPair{
		cert:    cert,
		key:     key,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// BundleInjector keeps CABundle() in the caBundle of every webhook of the named
// ValidatingWebhookConfigurations and MutatingWebhookConfigurations (missing ones are skipped, not errors),
// at start, whenever the bundle changes, and every Interval.
//
// The periodic pass repairs configurations created after the manager or
// re-applied by a GitOps tool with an empty caBundle. Reads are plain Gets,
// so the manager needs no cluster-wide watch on webhook configurations.
// Every replica runs one: a replica whose Source has not yet seen a new
// bundle may briefly write the previous one, which is why Source waits an
// Interval between rotation phases.
type BundleInjector struct {
	Reader     client.Reader // uncached reads (the manager's APIReader)
	Writer     client.Writer
	Validating []string
	Mutating   []string
	Bundle     func() []byte
	Interval   time.Duration // default 1 min
	Log        logr.Logger
}

// Start injects until ctx is done (a manager.Runnable). It checks Bundle()
// every second (in memory, cheap) so a changed bundle is published at once.
func (b *BundleInjector) Start(ctx context.Context) error {
	interval := b.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	tick := time.NewTicker(min(time.Second, interval))
	defer tick.Stop()
	var tried []byte
	var next time.Time
	for {
		// Before the Source's first load there is nothing to publish, and
		// an empty caBundle would only break the webhooks.
		if bundle := b.Bundle(); len(bundle) > 0 {
			now := time.Now()
			if !bytes.Equal(bundle, tried) || !now.Before(next) {
				tried, next = bundle, now.Add(interval)
				if err := b.inject(ctx, bundle); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					b.Log.Info("cannot set the webhook CA bundle yet; retrying", "error", err.Error())
					next = now.Add(min(retryDelay, interval))
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// NeedLeaderElection is false: each replica publishes its bundle as soon as
// it has it, so a rotation does not wait for the leader.
func (b *BundleInjector) NeedLeaderElection() bool { return false }

// Inject sets the caBundle once; it writes only webhooks whose caBundle
// differs.
func (b *BundleInjector) Inject(ctx context.Context) error {
	bundle := b.Bundle()
	if len(bundle) == 0 {
		return errors.New("inject webhook CA bundle: no bundle loaded yet")
	}
	return b.inject(ctx, bundle)
}

func (b *BundleInjector) inject(ctx context.Context, bundle []byte) error {
	var errs []error
	for _, name := range b.Validating {
		var cfg admissionregistrationv1.ValidatingWebhookConfiguration
		errs = append(errs, b.injectOne(ctx, "ValidatingWebhookConfiguration", name, &cfg, bundle, func() []string {
			var stale []string
			for _, w := range cfg.Webhooks {
				if !bytes.Equal(w.ClientConfig.CABundle, bundle) {
					stale = append(stale, w.Name)
				}
			}
			return stale
		}))
	}
	for _, name := range b.Mutating {
		var cfg admissionregistrationv1.MutatingWebhookConfiguration
		errs = append(errs, b.injectOne(ctx, "MutatingWebhookConfiguration", name, &cfg, bundle, func() []string {
			var stale []string
			for _, w := range cfg.Webhooks {
				if !bytes.Equal(w.ClientConfig.CABundle, bundle) {
					stale = append(stale, w.Name)
				}
			}
			return stale
		}))
	}
	return errors.Join(errs...)
}

// injectOne reads obj by name and patches the caBundle of the webhooks stale
// names (called after the read).
func (b *BundleInjector) injectOne(ctx context.Context, kind, name string, obj client.Object, bundle []byte, stale func() []string) error {
	if err := b.Reader.Get(ctx, types.NamespacedName{Name: name}, obj); err != nil {
		if apierrors.IsNotFound(err) {
			b.Log.V(1).Info("webhook configuration does not exist; skipping", "kind", kind, "name", name)
			return nil
		}
		return fmt.Errorf("read %s %s: %w", kind, name, err)
	}
	names := stale()
	if len(names) == 0 {
		return nil
	}
	hooks := make([]map[string]any, len(names))
	for i, n := range names {
		hooks[i] = map[string]any{"name": n, "clientConfig": map[string]any{"caBundle": bundle}}
	}
	// A strategic merge patch matches webhooks by name and changes only
	// their caBundle. The resourceVersion makes it apply only to what we
	// read: had a webhook been removed meanwhile, the patch would re-add a
	// stub of it (rejected, but noisy); a Conflict is retried next round.
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": obj.GetResourceVersion()},
		"webhooks": hooks,
	})
	if err != nil {
		return err
	}
	if err := b.Writer.Patch(ctx, obj, client.RawPatch(types.StrategicMergePatchType, body)); err != nil {
		return fmt.Errorf("set the CA bundle of %s %s: %w", kind, name, err)
	}
	b.Log.Info("set the webhook CA bundle", "kind", kind, "name", name, "webhooks", names)
	return nil
}
