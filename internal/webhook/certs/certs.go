// Package certs gives the manager's webhook server a serving certificate
// when nothing else does (no cert-manager, no mounted Secret): it creates a
// private CA and a certificate for the webhook Service's DNS names, and keeps
// that CA in the caBundle of the webhook configuration, so the operator
// installs with plain `kubectl apply`.
package certs

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"github.com/go-logr/logr"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// File names in the certificate directory, as controller-runtime's webhook
// server expects them.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
	CAFile   = "ca.crt"
)

// validity of the generated CA and serving certificate. The manager
// generates new ones at every start when it owns them, so a long validity
// costs nothing.
const validity = 10 * 365 * 24 * time.Hour

// DNSNames are the names the API server uses to reach a Service.
func DNSNames(service, namespace string) []string {
	return []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
	}
}

// Ensure makes dir hold a serving certificate. When dir already has
// tls.crt and tls.key (a mounted Secret, cert-manager), it leaves them alone
// and returns generated=false: whoever provided them also provides the
// caBundle. Otherwise it writes a new CA, certificate and key for dnsNames
// and returns the CA in PEM for the webhook configuration.
func Ensure(dir string, dnsNames []string) (caPEM []byte, generated bool, err error) {
	_, errCert := os.Stat(filepath.Join(dir, CertFile))
	_, errKey := os.Stat(filepath.Join(dir, KeyFile))
	if errCert == nil && errKey == nil {
		return nil, false, nil
	}
	if !errors.Is(errCert, fs.ErrNotExist) && errCert != nil {
		return nil, false, fmt.Errorf("webhook certificate: %w", errCert)
	}
	ca, certPEM, keyPEM, err := Generate(dnsNames, time.Now())
	if err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, fmt.Errorf("webhook certificate directory: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
		mode os.FileMode
	}{{CAFile, ca, 0o644}, {KeyFile, keyPEM, 0o600}, {CertFile, certPEM, 0o644}} {
		if err := os.WriteFile(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return nil, false, fmt.Errorf("write webhook %s: %w", f.name, err)
		}
	}
	return ca, true, nil
}

// Generate creates a CA and a serving certificate for dnsNames signed by it,
// valid from now. It returns the CA certificate, the serving certificate and
// its key, all in PEM.
func Generate(dnsNames []string, now time.Time) (caPEM, certPEM, keyPEM []byte, err error) {
	if len(dnsNames) == 0 {
		return nil, nil, nil, fmt.Errorf("webhook certificate: no DNS names")
	}
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA key: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "seccomp-operator webhook CA"},
		NotBefore:             now.Add(-time.Hour), // tolerate clock skew
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook CA: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, nil, nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook serving key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: dnsNames[0]},
		DNSNames:     dnsNames,
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("webhook serving certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return n
}

// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingwebhookconfigurations,verbs=get;patch,resourceNames=seccomp-operator-validating-webhook

// CABundleInjector keeps CA in the caBundle of every webhook of the
// ValidatingWebhookConfiguration called Name: at start, and every Interval
// after (the configuration may be created after the manager, or re-applied
// by a GitOps tool with an empty caBundle). It reads with a plain Get so the
// manager needs no cluster-wide watch on webhook configurations.
type CABundleInjector struct {
	Reader   client.Reader // uncached reads (the manager's APIReader)
	Writer   client.Writer
	Name     string
	CA       []byte
	Interval time.Duration
	Log      logr.Logger
}

// Start runs until ctx is done (a manager.Runnable).
func (c *CABundleInjector) Start(ctx context.Context) error {
	interval := c.Interval
	if interval <= 0 {
		interval = time.Minute
	}
	retry := 2 * time.Second
	for {
		wait := interval
		if err := c.Inject(ctx); err != nil {
			c.Log.Info("cannot set the webhook CA bundle yet; retrying", "configuration", c.Name, "error", err.Error())
			wait = retry
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// NeedLeaderElection is false: the replica that generated the certificate
// it serves must publish its CA whether or not it leads. (Replicas generate
// one each, so more than one replica needs a certificate from a Secret.)
func (c *CABundleInjector) NeedLeaderElection() bool { return false }

// Inject sets the caBundle once; it writes only when a webhook lacks it.
func (c *CABundleInjector) Inject(ctx context.Context) error {
	var cfg admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Reader.Get(ctx, types.NamespacedName{Name: c.Name}, &cfg); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("validating webhook configuration %s does not exist", c.Name)
		}
		return fmt.Errorf("read validating webhook configuration %s: %w", c.Name, err)
	}
	type hook struct {
		Name         string         `json:"name"`
		ClientConfig map[string]any `json:"clientConfig"`
	}
	var hooks []hook
	for _, w := range cfg.Webhooks {
		if !bytes.Equal(w.ClientConfig.CABundle, c.CA) {
			hooks = append(hooks, hook{Name: w.Name, ClientConfig: map[string]any{"caBundle": c.CA}})
		}
	}
	if len(hooks) == 0 {
		return nil
	}
	// A strategic merge patch matches webhooks by name and changes only
	// their caBundle.
	body, err := json.Marshal(map[string]any{"webhooks": hooks})
	if err != nil {
		return err
	}
	if err := c.Writer.Patch(ctx, &cfg, client.RawPatch(types.StrategicMergePatchType, body)); err != nil {
		return fmt.Errorf("set the CA bundle of %s: %w", c.Name, err)
	}
	c.Log.Info("set the webhook CA bundle", "configuration", c.Name, "webhooks", len(hooks))
	return nil
}
