// Package certs gives the manager's webhook server a serving certificate
// when nothing else does (no cert-manager, no mounted Secret): the
// replicas keep a private CA and a certificate for the webhook Service's
// DNS names in one Secret, rotate them before they expire (Source), and
// keep the CA in the caBundle of the webhook configurations
// (BundleInjector), so the operator installs with plain `kubectl apply`.
package certs

import (
	"crypto/rand"
	"math/big"
	"os"
	"path/filepath"
)

// File names in the certificate directory, as controller-runtime's webhook
// server expects them, and in the Secret.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
	CAFile   = "ca.crt"
)

// DNSNames are the names the API server uses to reach a Service.
func DNSNames(service, namespace string) []string {
	return []string{
		service,
		service + "." + namespace,
		service + "." + namespace + ".svc",
		service + "." + namespace + ".svc.cluster.local",
	}
}

// Mounted reports whether dir holds a serving certificate and key that
// someone else provides (a Secret volume, cert-manager): the manager then
// serves them (controller-runtime reloads them when they change) and leaves
// the caBundle to their provider.
func Mounted(dir string) bool {
	_, errCert := os.Stat(filepath.Join(dir, CertFile))
	_, errKey := os.Stat(filepath.Join(dir, KeyFile))
	return errCert == nil && errKey == nil
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		panic("crypto/rand: " + err.Error()) // never fails on Linux
	}
	return n
}
