package certs

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// FuzzSecretContents: whatever the Secret holds (anyone with write access
// to it can put anything there), Sync ends with a certificate for the DNS
// names that verifies against the bundle it publishes, and never fails or
// panics on the contents.
//
// The seeds in testdata/fuzz/FuzzSecretContents are a Secret as a first
// Sync at testStart writes it (a throwaway test CA and key, valid around
// 2030 only), and mixes of its parts. They are files, not generated at
// run time: every fuzz worker must see the same seeds.
func FuzzSecretContents(f *testing.F) {
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), []byte{}, []byte("garbage"), []byte("-----BEGIN EC PRIVATE KEY-----\n"), []byte{})
	f.Fuzz(func(t *testing.T, ca, caKey, cert, key, bundle []byte) {
		// Sync's one step that reads the contents: reconcile, then load.
		// The client around it (Get, Create, Update) reads nothing of the
		// contents and has its own tests; fuzzing through a fake client
		// spent the time in the client, not in the parsers.
		s := newSource(nil, &clock{t: testStart})
		sec := &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: testNS, Name: testSecret},
			Data:       map[string][]byte{CAFile: ca, CAKeyFile: caKey, CertFile: cert, KeyFile: key, BundleFile: bundle},
		}
		st, _, err := s.reconcile(sec, testStart)
		if err != nil {
			t.Fatalf("reconcile over fuzzed contents: %v", err)
		}
		s.load(st)
		if err := verify(leaf(t, s), s.CABundle(), testStart); err != nil {
			t.Fatalf("the certificate served does not verify against the bundle: %v", err)
		}
	})
}
