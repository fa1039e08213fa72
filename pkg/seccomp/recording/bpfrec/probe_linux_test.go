//go:build linux && (amd64 || arm64)

package bpfrec

import (
	"os"
	"path/filepath"
	"testing"
)

// Pinned finds any object an earlier Open pins, and nothing in an empty or
// missing directory or without a pin path.
func TestPinned(t *testing.T) {
	dir := t.TempDir()
	if Pinned("") || Pinned(dir) || Pinned(filepath.Join(dir, "missing")) {
		t.Fatal("pinned state found where there is none")
	}
	for _, name := range append([]string{linkName}, pinnedMaps...) {
		sub := filepath.Join(dir, name+".d")
		if err := os.MkdirAll(sub, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name), nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if !Pinned(sub) {
			t.Errorf("%s pinned, not found", name)
		}
	}
}
