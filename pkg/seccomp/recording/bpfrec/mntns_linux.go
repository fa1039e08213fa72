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

// PidInMountNS returns a live process in the mount namespace of inode
// mntns, scanning /proc: Entry.Pid is the last process that made a new
// syscall there and may have exited since.
func PidInMountNS(mntns uint64) (int, bool) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ns, err := MountNamespace(pid); err == nil && ns == mntns {
			return pid, true
		}
	}
	return 0, false
}
