package certs

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMountedNeedsCertificateAndKey(t *testing.T) {
	dir := t.TempDir()
	if Mounted(dir) {
		t.Fatal("an empty directory holds no certificate")
	}
	if err := os.WriteFile(filepath.Join(dir, CertFile), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if Mounted(dir) {
		t.Fatal("a certificate without its key is not a mounted pair")
	}
	if err := os.WriteFile(filepath.Join(dir, KeyFile), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if !Mounted(dir) {
		t.Fatal("certificate and key present: mounted")
	}
	if Mounted(filepath.Join(dir, "missing")) {
		t.Fatal("a missing directory holds no certificate")
	}
}
