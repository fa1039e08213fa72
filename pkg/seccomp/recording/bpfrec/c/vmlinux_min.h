/* Copyright The seccomp-operator Authors. */
/*
 * The few kernel types the recorder reads, trimmed from
 * `bpftool btf dump file /sys/kernel/btf/vmlinux format c`. Every struct is
 * preserve_access_index: field offsets are relocated (CO-RE) against the
 * running kernel's BTF at load, so only the names and types below must
 * exist there, not this layout.
 */
#ifndef VMLINUX_MIN_H
#define VMLINUX_MIN_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;
typedef _Bool bool;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_ARRAY = 2,
};

enum {
	BPF_ANY = 0,
	BPF_NOEXIST = 1,
	BPF_EXIST = 2,
};

enum {
	BPF_F_NO_PREALLOC = 1,
};

#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)

#if defined(__TARGET_ARCH_x86)
struct thread_info {
	unsigned long flags;
	u32 status;
};

/* The raw tracepoint's first argument; unread on x86. */
struct pt_regs {
	unsigned long orig_ax;
};
#elif defined(__TARGET_ARCH_arm64)
struct thread_info {
	unsigned long flags;
};

/* arm64's pt_regs embeds user_pt_regs' fields in an anonymous struct;
 * CO-RE finds pstate by name through it. */
struct pt_regs {
	u64 regs[31];
	u64 sp;
	u64 pc;
	u64 pstate;
};
#else
#error "bpfrec: build with -D__TARGET_ARCH_x86 or -D__TARGET_ARCH_arm64 (bpf2go -target amd64,arm64 does)"
#endif

/* ns_id: a namespace's id, never reused (6.18+, inside anonymous members
 * CO-RE walks through); older kernels have mnt_namespace.seq instead. */
struct ns_common {
	unsigned int inum;
	u64 ns_id;
};

struct mnt_namespace {
	struct ns_common ns;
	u64 seq;
};

struct nsproxy {
	struct mnt_namespace *mnt_ns;
};

/* The task's seccomp state: mode 2 (SECCOMP_MODE_FILTER) once a filter is
 * loaded. */
struct seccomp {
	int mode;
};

/* comm: the task's name, set at execve (the file's name) and by
 * prctl(PR_SET_NAME). */
struct task_struct {
	struct thread_info thread_info;
	struct nsproxy *nsproxy;
	struct seccomp seccomp;
	char comm[16];
};

#pragma clang attribute pop

#endif /* VMLINUX_MIN_H */
