package bpf

import (
	"cmp"
	"fmt"
	"math/bits"
	"slices"
	"sort"
	"sync"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// treeSlack is how many comparisons deeper than a perfectly balanced tree a
// leaf may sit so that frequent syscalls can sit shallower. On a Docker-like
// profile one level buys most of the gain (mean 8.2 vs 8.7 steps, libseccomp
// 13.4) while the worst case stays below libseccomp's binary tree, which
// spends up to four JEQs per node after its JGT levels plus x32 checks.
const treeSlack = 1

// hotWeight is the weight of one frequent syscall relative to the weight 1
// of any run: large, so the tree is shaped for them within the depth limit.
const hotWeight = 64

// hotSyscalls are the syscalls that dominate the syscall mix of typical
// container workloads (servers, runtimes, the Go and glibc runtimes); the
// tree puts the runs holding them closer to the root.
var hotSyscalls = []string{
	"read", "write", "futex", "epoll_wait", "epoll_pwait", "epoll_pwait2", "epoll_ctl",
	"recvfrom", "sendto", "recvmsg", "sendmsg", "close", "openat", "fstat", "newfstatat",
	"statx", "mmap", "munmap", "mprotect", "madvise", "brk", "nanosleep", "clock_nanosleep",
	"clock_gettime", "gettimeofday", "rt_sigaction", "rt_sigprocmask", "rt_sigreturn",
	"sched_yield", "getpid", "gettid", "lseek", "pread64", "pwrite64", "readv", "writev",
	"ioctl", "fcntl", "poll", "ppoll", "select", "pselect6", "accept4", "getrandom",
	"io_uring_enter", "tgkill", "sigaltstack",
}

// group is the ABIs that share one AUDIT_ARCH value (x86_64 and x32), and so
// one decision tree on the syscall number.
type group struct {
	audit uint32
	abis  []*syscalls.Arch
	rules []*ruleSet // per ABI
}

func addToGroup(gs []*group, abi *syscalls.Arch, rules *ruleSet) []*group {
	for _, g := range gs {
		if g.audit == abi.Audit {
			g.abis = append(g.abis, abi)
			g.rules = append(g.rules, rules)
			return gs
		}
	}
	return append(gs, &group{audit: abi.Audit, abis: []*syscalls.Arch{abi}, rules: []*ruleSet{rules}})
}

// leaf is what the tree decides for a syscall number: a RET value, or an
// argument block (which ends in RETs). Two blocks with the same key compile
// to the same code.
type leaf struct {
	ret   uint32
	block *argBlock
}

// retLeaf is a RET leaf. RET leaves compare by value: a profile has a few
// hundred of them, and formatting a key string each was a tenth of a
// compile.
func retLeaf(ret uint32) leaf { return leaf{ret: ret} }

// same reports whether l and o decide the same for every input.
func (l leaf) same(o leaf) bool {
	if l.block == nil || o.block == nil {
		return l.block == nil && o.block == nil && l.ret == o.ret
	}
	return l.block.key == o.block.key
}

// run is a maximal range of syscall numbers with the same leaf.
type run struct {
	lo, hi uint32
	leaf   leaf
	weight int
}

// interval is a range of numbers with a leaf, before gaps are filled.
type interval struct {
	lo, hi uint32
	leaf   leaf
}

// abiRule is one syscall's rules and the ABI they are for.
type abiRule struct {
	abi *syscalls.Arch
	r   *sysRules
}

// runs returns the group's partition of the 32-bit syscall-number space.
func (c *compiler) runs(g *group) ([]run, error) {
	// The numbers are sorted as plain integers, each with the index of
	// its rules in the low half: sorting the intervals themselves by a
	// comparison function was a seventh of a compile.
	n := 1
	for i := range g.abis {
		n += len(g.rules[i].order)
	}
	keys, at := slices.Grow(c.keyBuf[:0], n), slices.Grow(c.atBuf[:0], n)
	for i, abi := range g.abis {
		for _, ra := range g.rules[i].order {
			keys = append(keys, uint64(ra.nr)<<32|uint64(len(at)))
			at = append(at, abiRule{abi, ra.r})
		}
	}
	slices.Sort(keys)
	ivs := slices.Grow(c.ivBuf[:0], n)
	for _, k := range keys {
		nr, a := uint32(k>>32), at[uint32(k)]
		ivs = append(ivs, interval{nr, nr, c.leafFor(a.abi, a.r)})
	}
	if x, ok := x32Filter(g); ok {
		i, _ := slices.BinarySearchFunc(ivs, x.lo, func(iv interval, lo uint32) int { return cmp.Compare(iv.lo, lo) })
		ivs = slices.Insert(ivs, i, x)
	}
	c.keyBuf, c.atBuf = keys, at
	def := retLeaf(c.defRet)
	c.ivBuf = ivs                                  // reused by the next group
	out := slices.Grow(c.runBuf[:0], 2*len(ivs)+1) // each interval and the gap before it, at most
	next := uint64(0)                              // first number not yet covered
	for _, iv := range ivs {
		if uint64(iv.lo) < next {
			return nil, fmt.Errorf("internal error: syscall number %#x covered twice", iv.lo)
		}
		if uint64(iv.lo) > next {
			out = appendRun(out, run{lo: uint32(next), hi: iv.lo - 1, leaf: def})
		}
		out = appendRun(out, run{lo: iv.lo, hi: iv.hi, leaf: iv.leaf})
		next = uint64(iv.hi) + 1
	}
	if next <= 0xffffffff {
		out = appendRun(out, run{lo: uint32(next), hi: 0xffffffff, leaf: def})
	}
	c.hotBuf = weigh(out, g, c.hotBuf[:0])
	c.runBuf = out // valid until the next group's runs
	return out, nil
}

func appendRun(rs []run, r run) []run {
	if n := len(rs); n > 0 && rs[n-1].leaf.same(r.leaf) {
		rs[n-1].hi = r.hi
		return rs
	}
	return append(rs, r)
}

// x32Filter returns the numbers that x86_64's AUDIT_ARCH admits but the
// profile's ABIs do not. Like libseccomp 2.5.4 (gen_bpf.c, _gen_bpf_arch):
// with x86_64 but not x32, numbers with __X32_SYSCALL_BIT set are a bad
// architecture (KILL_PROCESS) except -1, which tracers use to skip a syscall
// and which gets the default action; with x32 but not x86_64, numbers without
// the bit are a bad architecture. With both, the x32 numbers are simply more
// runs of the same tree.
func x32Filter(g *group) (interval, bool) {
	var has64, has32 bool
	for _, a := range g.abis {
		switch a.Name {
		case "x86_64":
			has64 = true
		case "x32":
			has32 = true
		}
	}
	kill := retLeaf(RetKillProcess)
	switch {
	case has64 && !has32:
		return interval{syscalls.X32SyscallBit, 0xfffffffe, kill}, true
	case has32 && !has64:
		return interval{0, syscalls.X32SyscallBit - 1, kill}, true
	}
	return interval{}, false
}

// weigh gives each run weight 1 plus hotWeight per frequent syscall in it;
// buf is scratch space, returned for reuse.
func weigh(rs []run, g *group, buf []uint32) []uint32 {
	hot := hotNumbers(g.abis[0])
	if len(g.abis) > 1 {
		for _, abi := range g.abis {
			buf = append(buf, hotNumbers(abi)...)
		}
		slices.Sort(buf)
		hot = buf
	}
	h := 0
	for i := range rs {
		rs[i].weight = 1
		for h < len(hot) && hot[h] <= rs[i].hi {
			if hot[h] >= rs[i].lo {
				rs[i].weight += hotWeight
			}
			h++
		}
	}
	return buf
}

// hotByABI caches hotNumbers: a string lookup per hot syscall and ABI on
// every compile was a twentieth of it.
var hotByABI sync.Map // *syscalls.Arch -> []uint32

// hotNumbers returns abi's numbers of hotSyscalls, sorted; shared, not to
// be modified.
func hotNumbers(abi *syscalls.Arch) []uint32 {
	if v, ok := hotByABI.Load(abi); ok {
		return v.([]uint32)
	}
	var hot []uint32
	for _, name := range hotSyscalls {
		if nr, ok := abi.Lookup(name); ok {
			hot = append(hot, uint32(nr))
		}
	}
	slices.Sort(hot)
	v, _ := hotByABI.LoadOrStore(abi, hot)
	return v.([]uint32)
}

// tree emits a decision tree over runs with JGE comparisons. Its depth is at
// most ceil(log2(len(runs))) + treeSlack; within that bound every split
// balances the weight of its two sides, so frequent syscalls sit shallow.
type tree struct {
	e      *emitter
	runs   []run
	pre    []int // pre[i] = weight of runs[:i]; its storage may be reused
	leaves func(leaf) target
}

func (t *tree) emit() target {
	t.pre = slices.Grow(t.pre[:0], len(t.runs)+1)[:len(t.runs)+1]
	t.pre[0] = 0
	for i, r := range t.runs {
		t.pre[i+1] = t.pre[i] + r.weight
	}
	depth := ceilLog2(len(t.runs)) + treeSlack
	return t.node(0, len(t.runs)-1, depth)
}

func ceilLog2(n int) int {
	if n <= 1 {
		return 0
	}
	return bits.Len(uint(n - 1))
}

// node emits the subtree for runs[i..j] with at most d comparisons on any
// path, right subtree first (it is emitted backwards: the left one ends up
// right after the comparison, reached by falling through).
func (t *tree) node(i, j, d int) target {
	if i == j {
		return t.leaves(t.runs[i].leaf)
	}
	m := t.split(i, j, d)
	right := t.node(m, j, d-1)
	left := t.node(i, m-1, d-1)
	return t.e.jump(opJgeK, t.runs[m].lo, right, left)
}

// split returns the first run of the right subtree of runs[i..j]: the one
// that best balances weight while both sides fit in d-1 levels.
func (t *tree) split(i, j, d int) int {
	half := j - i + 1
	if d-1 < bits.UintSize-2 {
		half = 1 << (d - 1)
	}
	lo, hi := max(i+1, j+1-half), min(j, i+half)
	total := t.pre[j+1] - t.pre[i]
	// First m whose left side weighs at least half of the total.
	m := lo + sort.Search(hi-lo+1, func(k int) bool { return 2*(t.pre[lo+k]-t.pre[i]) >= total })
	if m > hi {
		return hi
	}
	if m > lo {
		// The split just before may balance better.
		a := 2*(t.pre[m]-t.pre[i]) - total
		b := total - 2*(t.pre[m-1]-t.pre[i])
		if b < a {
			return m - 1
		}
	}
	return m
}
