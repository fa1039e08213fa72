package main

import (
	"golang.org/x/sys/unix"
)

// bpffsRoot is where the kernel's BPF filesystem is mounted.
const bpffsRoot = "/sys/fs/bpf"

// defaultPinPath is the recorder's pin directory when bpffs is mounted
// (the DaemonSet mounts the host's), else "": the maps then live as long
// as the agent.
func defaultPinPath() string {
	var st unix.Statfs_t
	if err := unix.Statfs(bpffsRoot, &st); err != nil || st.Type != unix.BPF_FS_MAGIC {
		return ""
	}
	return bpffsRoot + "/seccomp-operator"
}
