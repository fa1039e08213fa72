package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A machine without the cross headers (a fresh one, before make generate
// installs them) must be told exactly what to run.
func TestMissingHeaderSaysWhatToRun(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "unistd.h")
	_, x32Err := deriveX32(map[string]int{}, missing)
	armErr := addARMPrivate(map[string]int{}, missing)
	for _, c := range []struct {
		err       error
		pkg, flag string
	}{{x32Err, "linux-libc-dev", "-x32-header"}, {armErr, "linux-libc-dev-armhf-cross", "-arm-header"}} {
		if c.err == nil {
			t.Fatalf("no error for the missing header %s", missing)
		}
		for _, want := range []string{missing, c.pkg, "hack/install-deps.sh generate", c.flag} {
			if !strings.Contains(c.err.Error(), want) {
				t.Errorf("error %q does not name %q", c.err, want)
			}
		}
	}
}
