package setup

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/healthz"

	"github.com/seccomp-operator/seccomp-operator/internal/webhook/certs"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
)

// CertificateOptions configure the webhook server's certificate.
type CertificateOptions struct {
	// Dir may hold a mounted tls.crt and tls.key (cert-manager, a Secret
	// volume): then they are served, and their provider owns the caBundle.
	Dir string
	// Otherwise the replicas keep one in Secret (in Namespace), for the
	// Service's DNS names and URL's host (when the apiserver dials a URL).
	Namespace, Secret, Service, URL string
	// ValidatingConfig is the profile webhook's configuration, whose
	// caBundle the manager keeps along with the fallback webhook's.
	ValidatingConfig string
}

// Certificate is the webhook server's certificate as the manager runs it.
type Certificate struct {
	// Source is nil when the certificate is mounted.
	Source *certs.Source
	// TLSOpts give the webhook server the Source's certificate.
	TLSOpts []func(*tls.Config)
	opts    CertificateOptions
}

// NewCertificate decides where the certificate comes from; cfg and scheme
// make the uncached client the Source reads its Secret with.
func NewCertificate(cfg *rest.Config, scheme *runtime.Scheme, o CertificateOptions, log logr.Logger) (*Certificate, error) {
	c := &Certificate{opts: o}
	if certs.Mounted(o.Dir) {
		log.Info("serving the mounted webhook certificate; whoever provides it provides the caBundle", "dir", o.Dir)
		return c, nil
	}
	dnsNames := certs.DNSNames(o.Service, o.Namespace)
	if o.URL != "" {
		// The certificate must be valid for the host the apiserver dials.
		u, err := url.Parse(o.URL)
		if err != nil || u.Scheme != "https" || u.Hostname() == "" {
			return nil, fmt.Errorf("webhook URL %q: want https://host[:port]", o.URL)
		}
		dnsNames = append(dnsNames, u.Hostname())
	}
	direct, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		return nil, fmt.Errorf("client for the webhook certificate Secret: %w", err)
	}
	c.Source = &certs.Source{Client: direct, Namespace: o.Namespace, SecretName: o.Secret, DNSNames: dnsNames, Log: log}
	c.TLSOpts = []func(*tls.Config){func(t *tls.Config) { t.GetCertificate = c.Source.GetCertificate }}
	return c, nil
}

// Bundle is the CA bundle the fallback webhook's configuration carries
// (nil when the certificate is mounted: its provider injects the CA).
func (c *Certificate) Bundle() func() []byte {
	if c == nil || c.Source == nil {
		return nil
	}
	return c.Source.CABundle
}

// Start adds the Source and the injector of its bundle into both webhook
// configurations to the manager (nothing for a mounted certificate).
func (c *Certificate) Start(mgr ctrl.Manager, log logr.Logger) error {
	if c.Source == nil {
		return nil
	}
	if err := mgr.Add(c.Source); err != nil {
		return fmt.Errorf("webhook certificate: %w", err)
	}
	if err := mgr.Add(&certs.BundleInjector{Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(),
		Validating: []string{c.opts.ValidatingConfig}, Mutating: []string{pods.DefaultConfigName},
		Bundle: c.Source.CABundle, Log: log}); err != nil {
		return fmt.Errorf("CA bundle injector: %w", err)
	}
	return nil
}

// Ready is the webhook server's readiness: started, with a certificate.
func (c *Certificate) Ready(mgr ctrl.Manager) healthz.Checker {
	started := mgr.GetWebhookServer().StartedChecker()
	return func(r *http.Request) error {
		if c.Source != nil && c.Source.CABundle() == nil {
			return errors.New("no webhook certificate loaded yet")
		}
		return started(r)
	}
}
