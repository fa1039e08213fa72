package bpf

import (
	"encoding/binary"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Options tune Compile.
type Options struct {
	// Arch is the native ABI of the host the program is for ("x86_64",
	// "SCMP_ARCH_AARCH64", "amd64"); "" means the host running Compile.
	Arch string
	// Notify turns every verdict that is not ALLOW or LOG (the default
	// action included, wrong-architecture kills excluded) into USER_NOTIF,
	// so a supervisor decides instead (seccompctl run --complain). It also
	// sets SECCOMP_FILTER_FLAG_NEW_LISTENER, without which the kernel would
	// fail those syscalls with ENOSYS.
	Notify bool
}

// flagBits maps OCI flag names to SECCOMP_FILTER_FLAG_* bits.
var flagBits = map[string]uint{
	profile.FlagLog:          unix.SECCOMP_FILTER_FLAG_LOG,
	profile.FlagSpecAllow:    unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	profile.FlagWaitKillable: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
	profile.FlagTSync:        unix.SECCOMP_FILTER_FLAG_TSYNC,
	profile.FlagNewListener:  unix.SECCOMP_FILTER_FLAG_NEW_LISTENER,
	profile.FlagTSyncESRCH:   unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH,
}

// Compile turns a resolved profile (no Docker includes/excludes or archMap:
// call profile.Resolve first) into a seccomp program for the ABIs of the
// opts.Arch family that the profile lists (only the native one when it lists
// none). profile.Evaluate is the meaning the program implements.
//
// The program loads seccomp_data.arch and compares it with each ABI's
// AUDIT_ARCH value, native first; any other arch gets KILL_PROCESS. Each ABI
// (x86_64 and x32 share one, told apart by the number) then loads nr and
// runs a decision tree of JGE comparisons over the 32-bit number space cut
// into runs of adjacent numbers with the same verdict. The tree is at most
// one level deeper than a balanced one and shaped so frequent syscalls
// (read, futex, epoll_wait, ...) sit near the root. Leaves are shared RETs,
// or argument blocks placed after the tree. Only LD nr/arch, JEQ/JGE/JGT K,
// JA and RET K appear before an argument block, so the kernel (≥ 5.11) can
// cache every argument-free ALLOW in its bitmap. Jumps longer than a
// conditional jump's 255 get a copy of their RET or a JA trampoline.
func Compile(p *profile.Profile, opts Options) (*Program, error) {
	prog, err := compile(p, opts)
	if err != nil {
		return nil, fmt.Errorf("compile profile: %w", err)
	}
	return prog, nil
}

func compile(p *profile.Profile, opts Options) (*Program, error) {
	if p == nil {
		return nil, fmt.Errorf("no profile")
	}
	if err := checkResolved(p); err != nil {
		return nil, err
	}
	native, abis, err := selectABIs(p, opts.Arch)
	if err != nil {
		return nil, err
	}
	pooled := scratchPool.Get().(*scratch)
	c := &compiler{notify: opts.Notify, scratch: *pooled}
	defer func() { c.release(pooled) }()
	if c.defRet, err = ActionRet(p.DefaultAction, p.DefaultErrnoRet); err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	c.defRet = c.verdict(c.defRet)
	prog := &Program{Native: native, Arches: abis, Skipped: map[string][]string{}}
	if prog.Flags, err = flags(p.Flags); err != nil {
		return nil, err
	}
	if opts.Notify {
		prog.Flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	ids := nameIDs(p)
	var groups []*group
	for i, abi := range abis {
		rules, skipped, err := c.collect(p, abi, i, ids)
		if err != nil {
			return nil, err
		}
		if len(skipped) > 0 {
			prog.Skipped[abi.Name] = skipped
		}
		groups = addToGroup(groups, abi, rules)
	}
	insns, err := c.emitProgram(groups)
	if err != nil {
		return nil, err
	}
	prog.Instructions = insns
	return prog, nil
}

// checkResolved rejects what only profile.Resolve can interpret.
func checkResolved(p *profile.Profile) error {
	if len(p.ArchMap) > 0 {
		return fmt.Errorf("archMap is set: call profile.Resolve first")
	}
	for i, s := range p.Syscalls {
		if !s.Includes.IsEmpty() {
			return fmt.Errorf("syscalls[%d].includes is set: call profile.Resolve first", i)
		}
		if !s.Excludes.IsEmpty() {
			return fmt.Errorf("syscalls[%d].excludes is set: call profile.Resolve first", i)
		}
	}
	return nil
}

// hostArch is the native ABI of the running host.
func hostArch() string { return runtime.GOARCH }

// selectABIs returns the native ABI and Family(native) ∩ p.Architectures,
// native first; an empty Architectures means the native ABI alone (runc).
func selectABIs(p *profile.Profile, arch string) (*syscalls.Arch, []*syscalls.Arch, error) {
	if arch == "" {
		arch = hostArch()
	}
	native, ok := syscalls.Get(arch)
	if !ok {
		return nil, nil, fmt.Errorf("unknown architecture %q", arch)
	}
	family := syscalls.Family(native.Name)
	if len(p.Architectures) == 0 {
		family = family[:1]
	} else {
		want := map[string]bool{}
		for i, name := range p.Architectures {
			a, ok := syscalls.Get(name)
			if !ok {
				return nil, nil, fmt.Errorf("architectures[%d]: %q: unknown architecture", i, name)
			}
			want[a.Name] = true
		}
		var keep []*syscalls.Arch
		for _, a := range family {
			if want[a.Name] {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			return nil, nil, fmt.Errorf("architectures %v: none of them runs on a %s host (%s)", p.Architectures, native.Name, archNames(family))
		}
		family = keep
	}
	for _, a := range family {
		if !a.HasTable {
			return nil, nil, fmt.Errorf("architecture %s: no syscall table, cannot compile for it", a.Name)
		}
	}
	return native, family, nil
}

func archNames(as []*syscalls.Arch) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.Name
	}
	return out
}

func flags(names []string) (uint, error) {
	var bits uint
	for i, f := range names {
		b, ok := flagBits[f]
		if !ok {
			return 0, fmt.Errorf("flags[%d]: %q: unknown seccomp filter flag", i, f)
		}
		bits |= b
	}
	return bits, nil
}

// compiler holds what is common to all ABIs of one compilation.
type compiler struct {
	notify bool
	defRet uint32
	scratch
}

// scratch is a compile's working memory, reused by the next compile: node
// agents compile every profile they install, and these buffers were half
// of what a compile allocated, all of it garbage once the program is
// emitted.
type scratch struct {
	sets   []ruleSet // one per ABI, in compile order
	ivBuf  []interval
	runBuf []run
	keyBuf []uint64 // runs: syscall number << 32 | index into atBuf
	atBuf  []abiRule
	hotBuf []uint32
	preBuf []int // tree.pre
	// em is the emitter, its instructions and maps kept for the next
	// compile (growing the instructions was a sixth of what a compile
	// allocated); none of it holds pointers.
	em emitter
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// ruleSetFor returns the i-th ABI's rule set, emptied, with room for n
// syscalls.
func (s *scratch) ruleSetFor(i, n int) *ruleSet {
	for len(s.sets) <= i {
		s.sets = append(s.sets, ruleSet{})
	}
	rs := &s.sets[i]
	if rs.m == nil {
		rs.m = make(map[uint32]*sysRules, n)
	} else {
		clear(rs.m)
	}
	// The slab's old entries are overwritten whole before use (entry),
	// so nothing of a previous compile shows through.
	rs.slab = slices.Grow(rs.slab[:0], n)
	rs.order = slices.Grow(rs.order[:0], n)
	return rs
}

// release drops s's references into the compiled profile and puts it back
// into the pool as into.
func (s *scratch) release(into *scratch) {
	for i := range s.sets {
		clear(s.sets[i].m)
		clear(s.sets[i].slab[:cap(s.sets[i].slab)])
		clear(s.sets[i].order[:cap(s.sets[i].order)])
	}
	clear(s.ivBuf[:cap(s.ivBuf)])
	clear(s.runBuf[:cap(s.runBuf)])
	clear(s.atBuf[:cap(s.atBuf)])
	*into = *s
	scratchPool.Put(into)
}

// verdict applies Options.Notify to a rule's or the default action's value.
func (c *compiler) verdict(ret uint32) uint32 {
	if c.notify && !isPermissive(ret) {
		return RetUserNotif
	}
	return ret
}

// sysRules is what the profile says about one syscall number of one ABI.
type sysRules struct {
	name   string
	always bool   // an unconditional rule names it
	ret    uint32 // the first unconditional rule's verdict, before Notify
	conds  []condRule
	seen   map[string]bool
}

// condRule is one conditional rule: its comparisons (ANDed) and verdict.
type condRule struct {
	args    []profile.Arg
	ret     uint32
	src     int  // index of the profile rule, for errors
	derived bool // derived by libseccomp's socketcall/ipc multiplexing
}

// nameIDs returns the syscall ID of every name of p's rules, in the order
// of Syscall.AllNames, rule after rule (-1 for a name no table knows): one
// string hash per name for all the ABIs a compile covers.
func nameIDs(p *profile.Profile) []syscalls.ID {
	out := make([]syscalls.ID, 0, p.NameCount())
	for i := range p.Syscalls {
		for _, name := range p.Syscalls[i].AllNames() {
			id, ok := syscalls.IDOf(name)
			if !ok {
				id = -1
			}
			out = append(out, id)
		}
	}
	return out
}

// collect gathers the rules of abi, the compile's i-th ABI, by syscall
// number, checking them; ids are nameIDs(p). The set lives in c's scratch
// until the compile ends.
func (c *compiler) collect(p *profile.Profile, abi *syscalls.Arch, i int, ids []syscalls.ID) (*ruleSet, []string, error) {
	rs := c.ruleSetFor(i, p.NameCount())
	var skipped map[string]bool
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		ret, err := ActionRet(s.Action, s.ErrnoRet)
		if err != nil {
			return nil, nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if err := checkArgs(i, s.Args); err != nil {
			return nil, nil, err
		}
		for _, name := range s.AllNames() {
			id := ids[0]
			ids = ids[1:]
			var direct, muxed bool
			if id >= 0 {
				var nr int
				if nr, direct = abi.Nr(id); direct {
					rs.add(uint32(nr), name, i, ret, s.Args)
				}
				var m profile.Mux
				if m, muxed = profile.MultiplexedID(abi, id); muxed {
					muxNr, _ := abi.Nr(m.ID)
					rs.addMux(uint32(muxNr), m.Name, i, ret, profile.MultiplexedArgs(s.Args, m.Call))
				}
			}
			if !direct && !muxed {
				if skipped == nil {
					skipped = map[string]bool{}
				}
				skipped[name] = true
			}
		}
	}
	for _, at := range rs.order {
		if err := at.r.check(abi.Bits); err != nil {
			return nil, nil, fmt.Errorf("syscall %q on %s: %w", at.r.name, abi.Name, err)
		}
	}
	names := make([]string, 0, len(skipped))
	for n := range skipped {
		names = append(names, n)
	}
	sort.Strings(names)
	return rs, names, nil
}

func checkArgs(rule int, args []profile.Arg) error {
	for j, a := range args {
		if a.Index > 5 {
			return fmt.Errorf("syscalls[%d].args[%d].index: %d: must be 0..5", rule, j, a.Index)
		}
		if !knownOp(a.Op) {
			return fmt.Errorf("syscalls[%d].args[%d].op: %q: unknown operator", rule, j, a.Op)
		}
	}
	return nil
}

func knownOp(op profile.Operator) bool {
	for _, k := range profile.KnownOperators {
		if op == k {
			return true
		}
	}
	return false
}

// ruleSet is one ABI's rules by syscall number. The entries live in one
// slab sized for the profile's names (the entry of a multiplexer beyond it
// is allocated on its own): one allocation, not one per syscall. order
// lists them as they were first named, so that nothing after collection
// needs to walk the map (in random order, and slower than a slice).
type ruleSet struct {
	m     map[uint32]*sysRules
	slab  []sysRules
	order []ruleAt
}

// ruleAt is a syscall number's entry in a ruleSet.
type ruleAt struct {
	nr uint32
	r  *sysRules
}

func (rs *ruleSet) entry(nr uint32, name string) *sysRules {
	r, ok := rs.m[nr]
	if !ok {
		// seen is made by the first conditional rule: most syscalls
		// have none, and a map each was most of a compile's garbage.
		if len(rs.slab) < cap(rs.slab) {
			rs.slab = append(rs.slab, sysRules{name: name})
			r = &rs.slab[len(rs.slab)-1]
		} else {
			r = &sysRules{name: name}
		}
		rs.m[nr] = r
		rs.order = append(rs.order, ruleAt{nr, r})
	}
	return r
}

// add records a rule naming syscall nr. As in libseccomp, the first
// unconditional rule for a syscall decides it: later rules for it, and
// earlier conditional ones, do not matter (CRI-O's default profile relies on
// this: setns is in its big allow list and again in a deny rule).
func (rs *ruleSet) add(nr uint32, name string, idx int, ret uint32, args []profile.Arg) {
	r := rs.entry(nr, name)
	if len(args) == 0 {
		if !r.always {
			r.always, r.ret = true, ret
		}
		return
	}
	r.addCond(condRule{args: args, ret: ret, src: idx})
}

// addMux records the rule libseccomp derives for a multiplexer from a
// rule on a socket or IPC syscall. Such rules may carry verdicts other than
// the multiplexer's own rules (socket allowed, bind denied): the first
// matching rule in profile order decides, an unconditional rule on the
// multiplexer overrides them all, as in libseccomp.
func (rs *ruleSet) addMux(nr uint32, name string, idx int, ret uint32, args []profile.Arg) {
	rs.entry(nr, name).addCond(condRule{args: args, ret: ret, src: idx, derived: true})
}

func (r *sysRules) addCond(c condRule) {
	key := fmt.Sprint(c.ret, c.args)
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	if !r.seen[key] {
		r.seen[key] = true
		r.conds = append(r.conds, c)
	}
}

// check rejects conditional rules with different verdicts for a syscall
// that no unconditional rule decides, unless no argument vector can match
// both (profile.Disjoint): otherwise which one wins would depend on order.
// It reports the first such pair in rule order. Rules comparing the same
// argument for equality with different values are disjoint, so each rule
// is compared only with the later rules that compare that argument (the
// one most rules compare: an ioctl allow list's request number) with the
// same value or not at all; a flattened profile can hold thousands of
// rules for one syscall, and comparing all pairs took minutes.
func (r *sysRules) check(bits int) error {
	if r.always {
		return nil
	}
	max := ^uint64(0)
	if bits == 32 {
		max = 0xffffffff
	}
	idx := profile.CommonEqIndex(r.conds, func(c *condRule) []profile.Arg { return c.args })
	buckets := map[uint64][]int{}
	var wild []int
	if idx >= 0 {
		for j, c := range r.conds {
			if v, ok := profile.EqValue(c.args, idx, max); ok {
				buckets[v] = append(buckets[v], j)
			} else {
				wild = append(wild, j)
			}
		}
	}
	conflict := func(a, b *condRule) bool {
		return !a.derived && !b.derived && a.ret != b.ret && !profile.Disjoint(a.args, b.args, bits)
	}
	for i := range r.conds {
		a := &r.conds[i]
		var same []int
		if v, ok := profile.EqValue(a.args, idx, max); ok && idx >= 0 {
			same = buckets[v]
		} else {
			// No equality on the common argument: any later rule.
			for j := i + 1; j < len(r.conds); j++ {
				if conflict(a, &r.conds[j]) {
					return r.conflictError(a, &r.conds[j])
				}
			}
			continue
		}
		// The later rules of a's bucket and the later wild ones, in order.
		x, y := sort.SearchInts(same, i+1), sort.SearchInts(wild, i+1)
		for x < len(same) || y < len(wild) {
			var j int
			if y >= len(wild) || (x < len(same) && same[x] < wild[y]) {
				j, x = same[x], x+1
			} else {
				j, y = wild[y], y+1
			}
			if conflict(a, &r.conds[j]) {
				return r.conflictError(a, &r.conds[j])
			}
		}
	}
	return nil
}

func (r *sysRules) conflictError(a, b *condRule) error {
	return fmt.Errorf("conflicting rules: syscalls[%d] (%s) and syscalls[%d] (%s) can both match",
		a.src, RetString(a.ret), b.src, RetString(b.ret))
}

// argOffsets returns the seccomp_data offsets of the low and high 32-bit
// words of argument i on an ABI of the given byte order.
func argOffsets(i uint, bigEndian bool) (lo, hi uint32) {
	base := uint32(OffArgs + 8*i)
	if bigEndian {
		return base + 4, base
	}
	return base, base + 4
}

// ByteOrder returns the order in which a's seccomp_data args are stored.
func ByteOrder(a *syscalls.Arch) binary.ByteOrder {
	if a != nil && a.BigEndian {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
