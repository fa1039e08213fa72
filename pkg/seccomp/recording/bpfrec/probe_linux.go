//go:build linux && (amd64 || arm64)

package bpfrec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// Capabilities loading and attaching the recorder needs.
const (
	capSysAdmin = 21
	capPerfmon  = 38
	capBPF      = 39
)

// Pinned reports whether pinPath holds the link or a map an earlier Open
// pinned there: what an earlier agent recorded and not yet harvested, or a
// program it left attached. It loads nothing.
func Pinned(pinPath string) bool {
	if pinPath == "" {
		return false
	}
	for _, name := range append([]string{linkName}, pinnedMaps...) {
		if _, err := os.Lstat(filepath.Join(pinPath, name)); err == nil {
			return true
		}
	}
	return false
}

// Check says why Open would fail, as far as that can be told without
// loading anything (Open parses the kernel's BTF, which costs the process
// memory): no BTF in the kernel, or neither CAP_BPF with CAP_PERFMON nor
// CAP_SYS_ADMIN. nil does not promise that Open succeeds.
func Check() error {
	if _, err := os.Stat(btfPath); err != nil {
		return fmt.Errorf("bpfrec: the kernel exposes no BTF (%w): the recorder's CO-RE program needs a kernel built with CONFIG_DEBUG_INFO_BTF=y", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return nil // unknown: Open tells
	}
	has := func(c uint) bool { return data[c/32].Effective&(1<<(c%32)) != 0 }
	if !has(capSysAdmin) && !(has(capBPF) && has(capPerfmon)) {
		return errors.New("bpfrec: the agent holds neither CAP_BPF with CAP_PERFMON nor CAP_SYS_ADMIN, which loading the recorder needs")
	}
	return nil
}
