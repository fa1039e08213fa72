package bpf

import (
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// dockerDenied are syscalls a Docker-style default profile leaves to its
// default action (ERRNO) for an unprivileged container.
var dockerDenied = map[string]bool{
	"acct": true, "add_key": true, "bpf": true, "clock_adjtime": true, "clock_settime": true, "create_module": true,
	"delete_module": true, "finit_module": true, "get_kernel_syms": true, "get_mempolicy": true, "init_module": true,
	"ioperm": true, "iopl": true, "kcmp": true, "kexec_file_load": true, "kexec_load": true, "keyctl": true,
	"lookup_dcookie": true, "mbind": true, "mount": true, "move_pages": true, "name_to_handle_at": true,
	"nfsservctl": true, "open_by_handle_at": true, "perf_event_open": true, "pivot_root": true,
	"process_vm_readv": true, "process_vm_writev": true, "ptrace": true, "query_module": true, "quotactl": true,
	"reboot": true, "request_key": true, "set_mempolicy": true, "setdomainname": true, "sethostname": true,
	"settimeofday": true, "stime": true, "swapoff": true, "swapon": true, "sysfs": true, "_sysctl": true,
	"umount": true, "umount2": true, "unshare": true, "uselib": true, "userfaultfd": true, "ustat": true,
	"vm86": true, "vm86old": true, "fsconfig": true, "fsmount": true, "fsopen": true, "fspick": true,
	"move_mount": true, "open_tree": true, "lookup_dcookie2": true, "afs_syscall": true, "tuxcall": true,
	"security": true, "vserver": true, "getpmsg": true, "putpmsg": true, "mount_setattr": true, "setns": true,
	"clone": true, "clone3": true, "personality": true, "socket": true, "chroot": true, "syslog": true,
	"fanotify_init": true, "lsm_get_self_attr": true, "lsm_set_self_attr": true, "lsm_list_modules": true,
}

// dockerLike is a profile shaped like Docker's default: ERRNO by default,
// some 350 syscalls allowed outright, a few with argument rules, for the
// x86_64 family.
func dockerLike() *profile.Profile {
	var names []string
	for _, n := range syscalls.Names(syscalls.Family("x86_64")...) {
		if !dockerDenied[n] {
			names = append(names, n)
		}
	}
	return &profile.Profile{
		DefaultAction:   profile.ActErrno,
		DefaultErrnoRet: uptr(1),
		Architectures:   []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Syscalls: []profile.Syscall{
			{Names: names, Action: profile.ActAllow},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo}}},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 8}}},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 0x20000}}},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 0x20008}}},
			{Names: []string{"personality"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpEqualTo, Value: 0xffffffff}}},
			{Names: []string{"clone"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpMaskedEqual, Value: 0x7e020000}}},
			{Names: []string{"clone3"}, Action: profile.ActErrno, ErrnoRet: uptr(38)},
			{Names: []string{"socket"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 0, Op: profile.OpNotEqual, Value: 40}}},
		},
	}
}
