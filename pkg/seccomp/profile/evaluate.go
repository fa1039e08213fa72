package profile

import (
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// x32Bit is __X32_SYSCALL_BIT as an unsigned syscall number.
const x32Bit = uint32(syscalls.X32SyscallBit)

// Evaluate is the reference meaning of a profile: the action, and its data
// (errno for ERRNO, the ptrace message for TRACE, else 0), that a program
// compiled from p for a host of arch's family (arch.Native) gives a syscall
// reported with arch's AUDIT_ARCH value, number nr (negative numbers are the
// kernel's unsigned view, -1 is 0xffffffff) and args. It works on the profile
// directly, independently of the BPF compiler, so tests can hold the compiler
// to it. SCMP_ACT_KILL is reported as SCMP_ACT_KILL_THREAD.
//
// p must be resolved (no includes/excludes, no archMap). The semantics:
//   - ABIs are Family(arch.Native) ∩ p.Architectures (the native ABI alone
//     when Architectures is empty); data from any other ABI is KILL_PROCESS.
//     On x86_64 hosts x32 shares AUDIT_ARCH_X86_64 and the number decides: with
//     x86_64 but not x32 admitted, numbers from the x32 bit up are KILL_PROCESS
//     (except -1, which tracers use to skip a syscall); with x32 but not
//     x86_64, numbers below the bit are.
//   - The first unconditional rule naming a syscall decides it, whatever
//     other rules say (libseccomp keeps the first; CRI-O's default profile
//     depends on it). Otherwise the first of its rules whose comparisons
//     (ANDed) all hold decides; rules with different verdicts must be
//     Disjoint, so order cannot matter; no match gives the default action.
//   - On ABIs with socketcall/ipc multiplexers (x86, s390x, ppc, mips) a rule
//     on a socket or SysV IPC syscall also applies to the multiplexer with
//     argument 0 equal to the call number, as libseccomp does (Multiplexed);
//     among such derived rules the first match in profile order decides.
//   - Comparisons are unsigned 64-bit; on 32-bit ABIs both the argument and
//     the rule's value (and mask) are cut to their low 32 bits (libseccomp).
//     SCMP_CMP_MASKED_EQ is (arg & value) == (valueTwo & value) (libseccomp
//     masks the expected value too).
func Evaluate(p *Profile, arch *syscalls.Arch, nr int, args [6]uint64) (Action, uint, error) {
	if p == nil || arch == nil {
		return "", 0, fmt.Errorf("evaluate: nil profile or architecture")
	}
	abi, err := evalABI(p, arch, uint32(nr))
	if err != nil {
		return "", 0, fmt.Errorf("evaluate: %w", err)
	}
	if abi == nil {
		return ActKillProcess, 0, nil
	}
	act, data, err := evalRules(p, abi, uint32(nr), args)
	if err != nil {
		return "", 0, fmt.Errorf("evaluate %s syscall %d: %w", abi.Name, nr, err)
	}
	return act, data, nil
}

// AdmittedABIs are the ABIs of arch's family (on a host whose native ABI is
// arch.Native) that p's filter handles rather than kills: those its
// Architectures name, or the native ABI alone when it names none.
func AdmittedABIs(p *Profile, arch *syscalls.Arch) []*syscalls.Arch {
	family := syscalls.Family(arch.Native)
	if len(p.Architectures) == 0 {
		return family[:1]
	}
	var out []*syscalls.Arch
	for _, a := range family {
		for _, n := range p.Architectures {
			if b, ok := syscalls.Get(n); ok && b == a {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// evalABI returns the admitted ABI that handles number nr arriving with
// arch's AUDIT_ARCH value, or nil when the filter treats it as a bad arch.
func evalABI(p *Profile, arch *syscalls.Arch, nr uint32) (*syscalls.Arch, error) {
	admitted := map[string]*syscalls.Arch{}
	family := syscalls.Family(arch.Native)
	if len(family) == 0 {
		return nil, fmt.Errorf("unknown architecture %q", arch.Native)
	}
	if len(p.Architectures) == 0 {
		admitted[family[0].Name] = family[0]
	}
	for _, name := range p.Architectures {
		a, ok := syscalls.Get(name)
		if !ok {
			return nil, fmt.Errorf("unknown architecture %q", name)
		}
		for _, f := range family {
			if f == a {
				admitted[a.Name] = a
			}
		}
	}
	if arch.Audit != syscalls.MustGet("x86_64").Audit {
		return admitted[arch.Name], nil
	}
	x64, x32 := admitted["x86_64"], admitted["x32"]
	isX32 := nr >= x32Bit // libseccomp compares with JGE, not JSET
	switch {
	case x64 != nil && x32 != nil:
		if isX32 {
			return x32, nil
		}
		return x64, nil
	case x64 != nil:
		if isX32 && nr != 0xffffffff {
			return nil, nil
		}
		return x64, nil
	case x32 != nil:
		if !isX32 {
			return nil, nil
		}
		return x32, nil
	}
	return nil, nil
}

// candidate is a rule that may decide a syscall: one naming it, or one
// libseccomp derives for a multiplexer (socketcall, ipc).
type candidate struct {
	act  Action
	data uint
	args []Arg
}

// evalRules applies the rules of abi to syscall nr. The first unconditional
// rule naming it decides (libseccomp keeps the first and drops or replaces
// everything else). Otherwise the first rule in profile order whose
// comparisons all hold decides; rules naming it with different verdicts must
// be Disjoint, so that order cannot matter (rules libseccomp derives for a
// multiplexer are exempt); with no match, the default action.
func evalRules(p *Profile, abi *syscalls.Arch, nr uint32, args [6]uint64) (Action, uint, error) {
	var cands, direct []candidate
	var srcs []int
	for i := range p.Syscalls {
		s := &p.Syscalls[i]
		isDirect, derived := names(s, abi, nr), muxArgs(s, abi, nr)
		if !isDirect && len(derived) == 0 {
			continue
		}
		a, d, err := actionData(s.Action, s.ErrnoRet)
		if err != nil {
			return "", 0, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if isDirect && len(s.Args) == 0 {
			return a, d, nil
		}
		if isDirect {
			c := candidate{a, d, s.Args}
			for j, o := range direct {
				if (o.act != a || o.data != d) && !Disjoint(o.args, s.Args, abi.Bits) && !hasUnconditional(p, abi, nr, i+1) {
					return "", 0, fmt.Errorf("conflicting rules: syscalls[%d] and syscalls[%d] can both match with different actions", srcs[j], i)
				}
			}
			direct, srcs = append(direct, c), append(srcs, i)
			cands = append(cands, c)
		}
		for _, da := range derived {
			cands = append(cands, candidate{a, d, da})
		}
	}
	for j, c := range cands {
		m, err := matches(c.args, abi.Bits, args)
		if err != nil {
			return "", 0, fmt.Errorf("rule %d for this syscall: %w", j, err)
		}
		if m {
			return c.act, c.data, nil
		}
	}
	return actionData(p.DefaultAction, p.DefaultErrnoRet)
}

// hasUnconditional reports whether a rule from index from on names nr
// without comparisons.
func hasUnconditional(p *Profile, abi *syscalls.Arch, nr uint32, from int) bool {
	for i := from; i < len(p.Syscalls); i++ {
		if len(p.Syscalls[i].Args) == 0 && names(&p.Syscalls[i], abi, nr) {
			return true
		}
	}
	return false
}

// muxArgs returns the comparisons libseccomp applies to multiplexer nr for
// each name of rule s that it multiplexes on abi.
func muxArgs(s *Syscall, abi *syscalls.Arch, nr uint32) [][]Arg {
	var out [][]Arg
	for _, n := range s.AllNames() {
		mux, call, ok := Multiplexed(abi, n)
		if !ok {
			continue
		}
		if muxNr, _ := abi.Lookup(mux); uint32(muxNr) == nr {
			out = append(out, MultiplexedArgs(s.Args, call))
		}
	}
	return out
}

// names reports whether rule s names syscall nr of abi.
func names(s *Syscall, abi *syscalls.Arch, nr uint32) bool {
	for _, n := range s.AllNames() {
		if got, ok := abi.Lookup(n); ok && uint32(got) == nr {
			return true
		}
	}
	return false
}

// actionData normalises an action and its errnoRet into the action and the
// data the kernel would see.
func actionData(a Action, errnoRet *uint) (Action, uint, error) {
	switch a {
	case ActErrno, ActTrace:
		if errnoRet == nil {
			return a, 1, nil
		}
		if *errnoRet > 0xffff {
			return "", 0, fmt.Errorf("errnoRet %d does not fit in 16 bits", *errnoRet)
		}
		return a, *errnoRet, nil
	case ActKill, ActKillThread, ActKillProcess, ActTrap, ActAllow, ActLog, ActNotify:
		if errnoRet != nil {
			return "", 0, fmt.Errorf("errnoRet set on action %s", a)
		}
		if a == ActKill {
			a = ActKillThread
		}
		return a, 0, nil
	}
	return "", 0, fmt.Errorf("unknown action %q", a)
}

// matches reports whether all comparisons hold for args.
func matches(conds []Arg, bits int, args [6]uint64) (bool, error) {
	for j, c := range conds {
		if c.Index > 5 {
			return false, fmt.Errorf("args[%d].index %d out of range 0..5", j, c.Index)
		}
		arg, v, v2 := args[c.Index], c.Value, c.ValueTwo
		if bits == 32 {
			arg, v, v2 = arg&0xffffffff, v&0xffffffff, v2&0xffffffff
		}
		ok, err := compare(c.Op, arg, v, v2)
		if err != nil {
			return false, fmt.Errorf("args[%d]: %w", j, err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func compare(op Operator, arg, v, v2 uint64) (bool, error) {
	switch op {
	case OpEqualTo:
		return arg == v, nil
	case OpNotEqual:
		return arg != v, nil
	case OpLessThan:
		return arg < v, nil
	case OpLessEqual:
		return arg <= v, nil
	case OpGreaterThan:
		return arg > v, nil
	case OpGreaterEqual:
		return arg >= v, nil
	case OpMaskedEqual:
		return arg&v == v2&v, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// muxABIs are the ABIs on which libseccomp 2.5.4 (syscalls.c, abi_rule_add)
// also filters the socketcall(2) and ipc(2) multiplexers for a rule on a
// socket or SysV IPC syscall.
var muxABIs = map[string]bool{
	"x86": true, "s390": true, "s390x": true, "ppc": true, "ppc64": true, "ppc64le": true, "mips": true, "mipsel": true,
}

// muxCalls maps socket and SysV IPC syscall names to their multiplexer and
// the call number it takes as argument 0 (SYS_SOCKET..., SEMOP...).
var muxCalls = map[string]struct {
	mux  string
	call uint64
}{
	"socket": {"socketcall", 1}, "bind": {"socketcall", 2}, "connect": {"socketcall", 3},
	"listen": {"socketcall", 4}, "accept": {"socketcall", 5}, "getsockname": {"socketcall", 6},
	"getpeername": {"socketcall", 7}, "socketpair": {"socketcall", 8}, "send": {"socketcall", 9},
	"recv": {"socketcall", 10}, "sendto": {"socketcall", 11}, "recvfrom": {"socketcall", 12},
	"shutdown": {"socketcall", 13}, "setsockopt": {"socketcall", 14}, "getsockopt": {"socketcall", 15},
	"sendmsg": {"socketcall", 16}, "recvmsg": {"socketcall", 17}, "accept4": {"socketcall", 18},
	"recvmmsg": {"socketcall", 19}, "sendmmsg": {"socketcall", 20},
	"semop": {"ipc", 1}, "semget": {"ipc", 2}, "semctl": {"ipc", 3}, "semtimedop": {"ipc", 4},
	"msgsnd": {"ipc", 11}, "msgrcv": {"ipc", 12}, "msgget": {"ipc", 13}, "msgctl": {"ipc", 14},
	"shmat": {"ipc", 21}, "shmdt": {"ipc", 22}, "shmget": {"ipc", 23}, "shmctl": {"ipc", 24},
}

// Multiplexed reports how libseccomp 2.5.4 also applies a rule on syscall
// name to abi: as a rule on the multiplexer syscall mux (socketcall or ipc)
// whose argument 0 must equal call, the rule's own comparisons on argument 0
// being dropped (libseccomp overwrites them) and the others kept. ok is false
// when abi has no multiplexer or name is not multiplexed.
func Multiplexed(abi *syscalls.Arch, name string) (mux string, call uint64, ok bool) {
	id, known := syscalls.IDOf(name)
	if !known {
		return "", 0, false
	}
	m, ok := MultiplexedID(abi, id)
	return m.Name, m.Call, ok
}

// Mux is the multiplexer a socket or SysV IPC syscall goes through on ABIs
// that have one: its name and ID, and the call number argument 0 carries.
type Mux struct {
	Name string
	ID   syscalls.ID
	Call uint64
}

// muxByID is muxCalls by syscall ID (a zero Mux where there is none): the
// validator and the compiler ask for every name on every ABI.
var muxByID = func() []Mux {
	out := make([]Mux, syscalls.IDCount())
	for n, m := range muxCalls {
		id, ok1 := syscalls.IDOf(n)
		muxID, ok2 := syscalls.IDOf(m.mux)
		if !ok1 || !ok2 {
			panic(fmt.Sprintf("multiplexed syscall %s or %s is in no syscall table", n, m.mux))
		}
		out[id] = Mux{Name: m.mux, ID: muxID, Call: m.call}
	}
	return out
}()

// MultiplexedID is Multiplexed by syscall ID.
func MultiplexedID(abi *syscalls.Arch, id syscalls.ID) (Mux, bool) {
	m := muxByID[id]
	if m.Name == "" || abi == nil || !muxABIs[abi.Name] {
		return Mux{}, false
	}
	if _, has := abi.Nr(m.ID); !has {
		return Mux{}, false
	}
	return m, true
}

// MultiplexedArgs returns the comparisons of a rule on a multiplexed syscall
// as libseccomp applies them to the multiplexer: argument 0 must equal call.
func MultiplexedArgs(args []Arg, call uint64) []Arg {
	out := []Arg{{Index: 0, Op: OpEqualTo, Value: call}}
	for _, a := range args {
		if a.Index != 0 {
			out = append(out, a)
		}
	}
	return out
}

// Disjoint reports whether no argument vector can satisfy both rules a and b
// (comparisons ANDed) on an ABI of the given width. Rules for one syscall
// may have different actions only if they are disjoint: then which one is
// tested first does not matter (CRI-O denies socket(AF_NETLINK, *,
// NETLINK_AUDIT) and allows every other socket call this way). The check is
// conservative: comparisons it cannot reason about (SCMP_CMP_MASKED_EQ next
// to another operator) count as overlapping.
func Disjoint(a, b []Arg, bits int) bool {
	for idx := uint(0); idx < 6; idx++ {
		if argDisjoint(append(argConds(a, idx), argConds(b, idx)...), bits) {
			return true
		}
	}
	return false
}

func argConds(args []Arg, idx uint) []Arg {
	var out []Arg
	for _, a := range args {
		if a.Index == idx {
			out = append(out, a)
		}
	}
	return out
}

// span is an inclusive range of argument values.
type span struct{ lo, hi uint64 }

// argDisjoint reports whether no value satisfies all of conds.
func argDisjoint(conds []Arg, bits int) bool {
	max := ^uint64(0)
	if bits == 32 {
		max = 0xffffffff
	}
	set := []span{{0, max}}
	var masks []Arg
	for _, c := range conds {
		v := c.Value & max
		if c.Op == OpMaskedEqual {
			masks = append(masks, Arg{Value: v, ValueTwo: c.ValueTwo & v})
			continue
		}
		set = intersect(set, opSpans(c.Op, v, max))
	}
	if len(set) == 0 {
		return true
	}
	for i := range masks {
		for j := i + 1; j < len(masks); j++ {
			common := masks[i].Value & masks[j].Value
			if (masks[i].ValueTwo^masks[j].ValueTwo)&common != 0 {
				return true
			}
		}
	}
	return false
}

func opSpans(op Operator, v, max uint64) []span {
	switch op {
	case OpEqualTo:
		return []span{{v, v}}
	case OpNotEqual:
		var out []span
		if v > 0 {
			out = append(out, span{0, v - 1})
		}
		if v < max {
			out = append(out, span{v + 1, max})
		}
		return out
	case OpLessThan:
		if v == 0 {
			return nil
		}
		return []span{{0, v - 1}}
	case OpLessEqual:
		return []span{{0, v}}
	case OpGreaterThan:
		if v >= max {
			return nil
		}
		return []span{{v + 1, max}}
	case OpGreaterEqual:
		return []span{{v, max}}
	}
	return []span{{0, max}}
}

func intersect(a, b []span) []span {
	var out []span
	for _, x := range a {
		for _, y := range b {
			lo, hi := max(x.lo, y.lo), min(x.hi, y.hi)
			if lo <= hi {
				out = append(out, span{lo, hi})
			}
		}
	}
	return out
}
