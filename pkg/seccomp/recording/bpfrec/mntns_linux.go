package bpfrec

import (
	"fmt"
	"os"
	"strconv"
	"syscall"
)

// MountNamespace returns the inode of /proc/<pid>/ns/mnt: the key the
// recorder files pid's syscalls under.
func MountNamespace(pid int) (uint64, error) {
	fi, err := os.Stat("/proc/" + strconv.Itoa(pid) + "/ns/mnt")
	if err != nil {
		return 0, fmt.Errorf("mount namespace of pid %d: %w", pid, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("mount namespace of pid %d: no inode", pid)
	}
	return st.Ino, nil
}
