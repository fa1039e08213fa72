// SPDX-License-Identifier: GPL-2.0
/* Copyright The seccomp-operator Authors. */
/*
 * The in-kernel syscall recorder: on every syscall entry, set the syscall's
 * bit in the bitmap of the calling task's mount namespace (one per
 * container). Nothing is sent to user space per syscall, so nothing can be
 * dropped; user space reads the bitmaps when it wants. See
 * design/2026-12-06-ebpf-recorder.md for the why of each choice.
 *
 * GPL: tp_btf programs and bpf_get_current_task_btf are GPL-only.
 */
#include "vmlinux_min.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define NR_WORDS 16                 /* 1024 numbers per ABI */
#define NR_BITS (NR_WORDS * 64)
#define NR_ABIS 3                   /* native, compat (32-bit), x32 */
#define ABI_NATIVE 0
#define ABI_COMPAT 1
#define ABI_X32 2
/* Three bitmap sets per namespace: syscalls of tasks without a seccomp
 * filter, of tasks under one, and of the runtime's init (runc's
 * "runc:[0:PARENT]", "runc:[1:CHILD]", "runc:[2:INIT]") without one. A
 * container the runtime confines makes the first and third kind only while
 * the runtime sets it up (mount, pivot_root, ... before it loads the
 * filter): user space leaves those out of such a container's profile. In
 * an unconfined container the third set tells the runtime's set-up apart
 * from the workload: comm changes at execve, so the container's own
 * processes never carry the runtime's name. */
#define NR_SETS 3
#define SET_UNFILTERED 0
#define SET_FILTERED 1
#define SET_RUNTIME 2
#define SECCOMP_MODE_FILTER 2

/* ARM's private syscalls (0x0f0001.. set_tls, ...) live far above the
 * table; arm compat tasks' are folded into the bitmap's top slots. */
#define ARM_PRIVATE_BASE 0x0f0000
#define ARM_PRIVATE_SLOTS 24
#define ARM_PRIVATE_SLOT0 (NR_BITS - ARM_PRIVATE_SLOTS)

#define X32_SYSCALL_BIT 0x40000000UL
#define TS_COMPAT 0x0002
#define PSR_MODE32_BIT 0x10

/* Indexes of the counters map. */
#define CNT_LOST_NS 0       /* namespaces refused because recs was full */
#define CNT_OUT_OF_RANGE 1  /* syscalls whose number fits no bitmap */
#define CNT_LOST_UNTRACKED 2 /* refusals when dropped was full too */
#define NR_COUNTERS 4

#define E2BIG 7
#define EEXIST 17

struct rec {
	u64 mntns;  /* the namespace's inode (/proc/<pid>/ns/mnt) */
	u32 tgid;   /* a process that set a new bit most recently */
	u32 _pad;
	u64 bits[NR_SETS * NR_ABIS * NR_WORDS];
};

struct config {
	u64 exclude_mntns; /* 0: record every namespace */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096); /* set by user space (Options.MaxNamespaces) */
	/* The mount namespace's id, never reused; its inode, which user space
	 * knows containers by, is reused once the namespace is freed, and
	 * would merge a dead container's syscalls into a new one's. */
	__type(key, u64);
	__type(value, struct rec);
} recs SEC(".maps");

/* Namespaces refused for want of room, so that Lost counts namespaces,
 * not syscalls, and user space can tell which recordings are partial. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u64);   /* namespace id */
	__type(value, u64); /* its inode */
} dropped SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, NR_COUNTERS);
	__type(key, u32);
	__type(value, u64);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct config);
} config SEC(".maps");

/* Never written: the zeroed value a new namespace starts from (a value
 * this large does not fit the 512-byte BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct rec);
} empty SEC(".maps");

static __always_inline void count(u32 idx)
{
	u64 *c = bpf_map_lookup_elem(&counters, &idx);
	if (c)
		__sync_fetch_and_add(c, 1);
}

/* The id of a mount namespace, unique for the boot. */
static __always_inline u64 ns_id(struct mnt_namespace *mnt)
{
	if (bpf_core_field_exists(mnt->ns.ns_id))
		return mnt->ns.ns_id;
	if (bpf_core_field_exists(mnt->seq))
		return mnt->seq;
	return mnt->ns.inum;
}

static __always_inline struct rec *insert(u64 id, u64 inum)
{
	u32 zero = 0;
	struct rec *init = bpf_map_lookup_elem(&empty, &zero);
	if (!init)
		return 0;
	long err = bpf_map_update_elem(&recs, &id, init, BPF_NOEXIST);
	if (err == -E2BIG) {
		long derr = bpf_map_update_elem(&dropped, &id, &inum, BPF_NOEXIST);
		if (derr == 0)
			count(CNT_LOST_NS);
		else if (derr != -EEXIST)
			count(CNT_LOST_UNTRACKED);
		return 0;
	}
	/* -EEXIST: another CPU inserted it first; use theirs. Any other
	 * error (none expected from a preallocated map) is counted too. */
	if (err && err != -EEXIST) {
		count(CNT_LOST_UNTRACKED);
		return 0;
	}
	struct rec *r = bpf_map_lookup_elem(&recs, &id);
	if (r && !r->mntns)
		r->mntns = inum;
	return r;
}

/* Whether the task is runc's init before it execs the container's
 * process: comm "runc:[0:PARENT]", "runc:[1:CHILD]" or "runc:[2:INIT]". */
static __always_inline bool is_runtime_init(struct task_struct *task)
{
	if (task->comm[0] != 'r')
		return 0;
	return task->comm[1] == 'u' && task->comm[2] == 'n' && task->comm[3] == 'c' &&
	       task->comm[4] == ':' && task->comm[5] == '[';
}

SEC("tp_btf/sys_enter")
int BPF_PROG(record_sys_enter, struct pt_regs *regs, long syscall_nr)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct mnt_namespace *mnt = task->nsproxy->mnt_ns;
	u64 ns = mnt->ns.inum;
	u32 zero = 0;

	struct config *cfg = bpf_map_lookup_elem(&config, &zero);
	if (!cfg || ns == cfg->exclude_mntns || ns == 0)
		return 0;

	u64 nr = (u64)syscall_nr;
	u32 abi = ABI_NATIVE;
#if defined(__TARGET_ARCH_x86)
	/* Set by the int 0x80 / sysenter / 32-bit syscall entries before the
	 * tracepoint, cleared on return to user space. */
	if (task->thread_info.status & TS_COMPAT) {
		abi = ABI_COMPAT;
	} else if (nr & X32_SYSCALL_BIT) {
		abi = ABI_X32;
		nr &= ~X32_SYSCALL_BIT;
	}
#elif defined(__TARGET_ARCH_arm64)
	/* The AArch32 execution state of the trapping task (compat_user_mode),
	 * architectural rather than a TIF bit number that kernels renumber. */
	if (regs->pstate & PSR_MODE32_BIT) {
		abi = ABI_COMPAT;
		if (nr >= ARM_PRIVATE_BASE && nr < ARM_PRIVATE_BASE + ARM_PRIVATE_SLOTS)
			nr = ARM_PRIVATE_SLOT0 + (nr - ARM_PRIVATE_BASE);
	}
#endif
	if (nr >= NR_BITS) {
		/* Negative ids (syscall(-1), ptrace-skipped calls) land here too:
		 * they name nothing, but they are counted, not hidden. */
		count(CNT_OUT_OF_RANGE);
		return 0;
	}

	u64 id = ns_id(mnt);
	struct rec *r = bpf_map_lookup_elem(&recs, &id);
	if (!r) {
		r = insert(id, ns);
		if (!r)
			return 0;
	}

	u32 set = SET_FILTERED;
	if (task->seccomp.mode != SECCOMP_MODE_FILTER) {
		set = SET_UNFILTERED;
		/* The first byte alone decides for almost every task: the
		 * rest of the name is read only for a comm starting with 'r'. */
		if (is_runtime_init(task))
			set = SET_RUNTIME;
	}
	u32 idx = (set * NR_ABIS + abi) * NR_WORDS + (u32)(nr >> 6);
	u64 bit = 1ULL << (nr & 63);
	if (idx >= NR_SETS * NR_ABIS * NR_WORDS)
		return 0;
	/* Steady state is this plain read: no atomic, no write, no cache line
	 * bouncing between CPUs running the same container. */
	if (r->bits[idx] & bit)
		return 0;
	__sync_fetch_and_or(&r->bits[idx], bit);
	r->tgid = bpf_get_current_pid_tgid() >> 32;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
