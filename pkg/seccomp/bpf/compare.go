package bpf

import (
	"encoding/binary"
	"fmt"
	"sort"

	xbpf "golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Runtimes CompareKernel models: how the program the kernel holds was made
// from the profile.
const (
	// RuntimeNone: the profile's program was loaded as it is (seccompctl
	// run, or our compiler's output loaded by anything else).
	RuntimeNone = "none"
	// RuntimeRunc: runc compiled the profile with libseccomp and put its
	// -ENOSYS stub in front (see runcStub); rules naming syscalls its
	// libseccomp does not know were skipped.
	RuntimeRunc = "runc"
)

// CompareOptions tune CompareKernel.
type CompareOptions struct {
	// Native is the kernel's native ABI ("" = this host's).
	Native string
	// Runtime is RuntimeNone ("" too) or RuntimeRunc.
	Runtime string
	// MaxDifferences bounds the differences kept (all are counted); 0 means 1000.
	MaxDifferences int
}

// Difference is one case where the kernel's filters and the profile give
// different verdicts.
type Difference struct {
	ABI     string    `json:"abi"`
	Nr      uint32    `json:"nr"`
	Syscall string    `json:"syscall,omitempty"`
	Args    [6]uint64 `json:"args"`
	Kernel  uint32    `json:"kernel"`
	Profile uint32    `json:"profile"`
}

// ABIProof says what was compared on one ABI.
type ABIProof struct {
	ABI string `json:"abi"`
	// Numbers is how many syscall numbers were run with all-zero
	// arguments: every number from First to Last, plus Beyond.
	Numbers int      `json:"numbers"`
	First   uint32   `json:"first"`
	Last    uint32   `json:"last"`
	Beyond  []uint32 `json:"beyond"`
	// ArgSyscalls are the syscalls the profile compares arguments of on
	// this ABI; ArgCases the argument vectors run for them.
	ArgSyscalls []string `json:"argSyscalls,omitempty"`
	ArgCases    int      `json:"argCases"`
	// StubAbove is the number above which runc's stub answers ENOSYS
	// (RuntimeRunc), -1 when it has none on this ABI.
	StubAbove int64 `json:"stubAbove"`
}

// Comparison is CompareKernel's result.
type Comparison struct {
	Filters int        `json:"filters"`
	Runtime string     `json:"runtime"`
	ABIs    []ABIProof `json:"abis"`
	// Cases is the number of (ABI, number, arguments) cases run.
	Cases int `json:"cases"`
	// Differences lists the first MaxDifferences differing cases, in ABI
	// and number order; DifferenceCount counts them all.
	Differences     []Difference `json:"differences"`
	DifferenceCount int          `json:"differenceCount"`
	// Unchecked lists what the kernel's filters check but could not be
	// compared (an AUDIT_ARCH value we have no syscall table for).
	Unchecked []string `json:"unchecked,omitempty"`
	// NotInstalled lists the profile's syscalls the runtime could not
	// install because its libseccomp does not know them (RuntimeRunc):
	// inferred from the kernel answering ENOSYS for every number above
	// the largest number it does know on the native ABI. The comparison
	// expects the stub's ENOSYS for them, so a user learns they do not get
	// the profile's verdict.
	NotInstalled []string `json:"notInstalled,omitempty"`
	// OtherArch is the verdicts for a syscall of an architecture none of
	// the filters checks (the bad-architecture action): kernel, profile.
	OtherArch [2]uint32 `json:"otherArch"`
}

// Equal reports whether every case compared gave the same verdict and
// nothing the filters check was left out.
func (c *Comparison) Equal() bool { return c.DifferenceCount == 0 && len(c.Unchecked) == 0 }

// CompareKernel proves, by running both in the simulator, that the filters a
// thread runs (kernel, in the order they were installed, as filter.Dump
// returns them; the strictest verdict over them counts, see Strictest) give the verdicts of profile p compiled by Compile, or lists
// where they differ. It compares verdicts, not instructions: the runtime may
// have compiled its program with libseccomp. The cases: on every ABI the
// filters check (the AUDIT_ARCH values they compare seccomp_data.arch with)
// and every ABI of the native family, every syscall number from 0 (x32:
// from bit 30) to 64 past the largest in that ABI's table, numbers far
// beyond (up to 0xffffffff), all with zero arguments; and for each syscall
// whose arguments p compares, argument vectors built from the values it
// compares against (each value, ±1, 0, all ones, the high word flipped on
// 64-bit ABIs, the bits outside a mask). Other argument values are not run.
func CompareKernel(kernel [][]xbpf.RawInstruction, p *profile.Profile, opts CompareOptions) (*Comparison, error) {
	native, ok := syscalls.Get(opts.Native)
	if opts.Native == "" {
		native, ok = syscalls.Get(hostArch())
	}
	if !ok || !native.HasTable {
		return nil, fmt.Errorf("no syscall table for the native architecture %q", opts.Native)
	}
	native, _ = syscalls.Get(native.Native)
	for i, prog := range kernel {
		if err := Check(prog); err != nil {
			return nil, fmt.Errorf("kernel filter %d: %w", i, err)
		}
	}
	maxDiff := opts.MaxDifferences
	if maxDiff <= 0 {
		maxDiff = 1000
	}
	c := &Comparison{Filters: len(kernel), Runtime: opts.Runtime, Differences: []Difference{}}
	if c.Runtime == "" {
		c.Runtime = RuntimeNone
	}
	abis, unchecked := checkedABIs(kernel, native)
	c.Unchecked = unchecked

	runKernel := func(d Data, order binary.ByteOrder) (uint32, error) {
		// Strictest takes them as the kernel runs them: newest first.
		rets := make([]uint32, len(kernel))
		b := d.Bytes(order)
		for i, prog := range kernel {
			r, err := execute(prog, b, order)
			if err != nil {
				return 0, fmt.Errorf("kernel filter %d: %w", i, err)
			}
			rets[len(kernel)-1-i] = r.Ret
		}
		return Strictest(rets), nil
	}

	var stub *runcStub
	switch c.Runtime {
	case RuntimeNone:
	case RuntimeRunc:
		var err error
		if p, err = dropUnknownToRuntime(p, native, runKernel, c); err != nil {
			return nil, err
		}
		stub = newRuncStub(p, native)
	default:
		return nil, fmt.Errorf("unknown runtime %q: use %s or %s", opts.Runtime, RuntimeNone, RuntimeRunc)
	}

	progs := map[string]*Program{}
	profileProg := func(abi *syscalls.Arch) (*Program, error) {
		if pr, ok := progs[abi.Native]; ok {
			return pr, nil
		}
		pr, err := Compile(p, Options{Arch: abi.Native})
		if err != nil {
			return nil, err
		}
		progs[abi.Native] = pr
		return pr, nil
	}
	expect := func(pr *Program, d Data, order binary.ByteOrder) (uint32, error) {
		if r, ok := stub.verdict(d.Arch, uint32(d.Nr)); ok {
			return r, nil
		}
		r, err := execute(pr.Instructions, d.Bytes(order), order)
		return r.Ret, err
	}
	compare := func(abi *syscalls.Arch, pr *Program, nr uint32, args [6]uint64) error {
		order := ByteOrder(abi)
		d := Data{Nr: int32(nr), Arch: abi.Audit, Args: args}
		k, err := runKernel(d, order)
		if err != nil {
			return err
		}
		want, err := expect(pr, d, order)
		if err != nil {
			return fmt.Errorf("profile program: %w", err)
		}
		c.Cases++
		if k != want {
			c.DifferenceCount++
			if len(c.Differences) < maxDiff {
				name, _ := abi.NameOf(int(nr))
				c.Differences = append(c.Differences, Difference{ABI: abi.Name, Nr: nr, Syscall: name, Args: args, Kernel: k, Profile: want})
			}
		}
		return nil
	}

	for _, abi := range abis {
		pr, err := profileProg(abi)
		if err != nil {
			c.Unchecked = append(c.Unchecked, fmt.Sprintf("%s: the profile does not compile for it: %v", abi.Name, err))
			continue
		}
		proof := ABIProof{ABI: abi.Name, StubAbove: -1}
		if stub != nil {
			if m := stub.last[abi.Audit]; m != nil {
				if last, ok := m[abi.Name]; ok {
					proof.StubAbove = int64(last)
				}
			}
		}
		first, last, beyond := numbersOf(abi)
		proof.First, proof.Last, proof.Beyond = first, last, beyond
		for nr := uint64(first); nr <= uint64(last); nr++ {
			if err := compare(abi, pr, uint32(nr), [6]uint64{}); err != nil {
				return nil, err
			}
			proof.Numbers++
		}
		for _, nr := range beyond {
			if err := compare(abi, pr, nr, [6]uint64{}); err != nil {
				return nil, err
			}
			proof.Numbers++
		}
		conds := argConditions(p, abi)
		nrs := make([]uint32, 0, len(conds))
		for nr := range conds {
			nrs = append(nrs, nr)
		}
		sort.Slice(nrs, func(i, j int) bool { return nrs[i] < nrs[j] })
		for _, nr := range nrs {
			name, _ := abi.NameOf(int(nr))
			proof.ArgSyscalls = append(proof.ArgSyscalls, name)
			for _, args := range argSamples(conds[nr], abi.Bits) {
				if args == ([6]uint64{}) {
					continue // run above
				}
				if err := compare(abi, pr, nr, args); err != nil {
					return nil, err
				}
				proof.ArgCases++
			}
		}
		c.ABIs = append(c.ABIs, proof)
	}

	// A syscall of an architecture no filter checks.
	if other := otherArch(abis); other != 0 {
		d := Data{Nr: 0, Arch: other}
		k, err := runKernel(d, binary.LittleEndian)
		if err != nil {
			return nil, err
		}
		pr, err := profileProg(native)
		if err == nil {
			r, err := execute(pr.Instructions, d.Bytes(binary.LittleEndian), binary.LittleEndian)
			if err != nil {
				return nil, err
			}
			c.OtherArch = [2]uint32{k, r.Ret}
		}
	}
	return c, nil
}

// checkedABIs returns the ABIs to compare: the native family and every ABI
// whose AUDIT_ARCH value the filters compare the loaded arch field with; an
// arch value without a syscall table goes to unchecked.
func checkedABIs(kernel [][]xbpf.RawInstruction, native *syscalls.Arch) ([]*syscalls.Arch, []string) {
	set := map[*syscalls.Arch]bool{}
	for _, a := range syscalls.Family(native.Name) {
		if a.HasTable {
			set[a] = true
		}
	}
	var unchecked []string
	seen := map[uint32]bool{}
	for _, prog := range kernel {
		archLoaded := false
		for _, in := range prog {
			if in.Op&0x07 == unix.BPF_LD {
				archLoaded = in.Op == opLdAbsW && in.K == OffArch
			}
			if in.Op&0x07 != unix.BPF_JMP || in.Op == opJa || in.Op&unix.BPF_X != 0 || !archLoaded || seen[in.K] {
				continue
			}
			seen[in.K] = true
			found := false
			for _, a := range syscalls.All() {
				if a.Audit != in.K {
					continue
				}
				found = true
				if a.HasTable {
					set[a] = true
				} else if !set[a] {
					unchecked = append(unchecked, fmt.Sprintf("%s (AUDIT_ARCH %#x): no syscall table", a.Name, a.Audit))
				}
			}
			if !found {
				unchecked = append(unchecked, fmt.Sprintf("AUDIT_ARCH %#x: an architecture we do not know", in.K))
			}
		}
	}
	var out []*syscalls.Arch
	for _, a := range syscalls.All() {
		if set[a] {
			out = append(out, a)
		}
	}
	sort.Strings(unchecked)
	return out, unchecked
}

// numbersOf returns the syscall numbers run on abi: first..last cover its
// table and 64 numbers past it; beyond are far numbers, kept on the abi's
// side of x86_64's x32 bit.
func numbersOf(abi *syscalls.Arch) (first, last uint32, beyond []uint32) {
	last = uint32(abi.MaxNr()) + 64
	var far []uint32
	switch abi.Name {
	case "x32":
		first = syscalls.X32SyscallBit
		far = []uint32{syscalls.X32SyscallBit + 1000, 0x7fffffff, 0xc0000000, 0xfffffffe, 0xffffffff}
	case "x86_64":
		far = []uint32{1000, 0xffff, 0x3fffffff, 0x80000000, 0xbfffffff}
	default:
		far = []uint32{1000, 0xffff, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff}
	}
	for _, nr := range far {
		if nr > last {
			beyond = append(beyond, nr)
		}
	}
	return first, last, beyond
}

// otherArch returns an AUDIT_ARCH value none of abis has.
func otherArch(abis []*syscalls.Arch) uint32 {
	used := map[uint32]bool{}
	for _, a := range abis {
		used[a.Audit] = true
	}
	for _, a := range syscalls.All() {
		if !used[a.Audit] {
			return a.Audit
		}
	}
	return 0
}

// argConditions returns, per syscall number of abi, the comparison lists of
// the rules that apply to it, socket and IPC calls on their multiplexer as
// libseccomp applies them there.
func argConditions(p *profile.Profile, abi *syscalls.Arch) map[uint32][][]profile.Arg {
	out := map[uint32][][]profile.Arg{}
	for _, s := range p.Syscalls {
		for _, n := range s.AllNames() {
			if mux, call, ok := profile.Multiplexed(abi, n); ok {
				if nr, ok := abi.Lookup(mux); ok {
					out[uint32(nr)] = append(out[uint32(nr)], profile.MultiplexedArgs(s.Args, call))
				}
			}
			if len(s.Args) == 0 {
				continue
			}
			if nr, ok := abi.Lookup(n); ok {
				out[uint32(nr)] = append(out[uint32(nr)], s.Args)
			}
		}
	}
	return out
}

// maxArgVectors bounds the full product of argument samples per syscall;
// past it each argument's samples are varied one at a time around every
// rule's own values.
const maxArgVectors = 4096

// argSamples builds argument vectors for rules conds on an ABI of the given
// width: per argument index the values the rules compare it against, ±1,
// 0, all ones, the high word flipped (64-bit ABIs) and, for masked
// comparisons, the bits outside the mask set.
func argSamples(conds [][]profile.Arg, bits int) [][6]uint64 {
	var per [6][]uint64
	add := func(i uint, v uint64) {
		if bits == 32 {
			v = uint64(uint32(v))
		}
		per[i] = append(per[i], v)
	}
	for i := range per {
		per[i] = []uint64{0}
	}
	for _, rule := range conds {
		for _, a := range rule {
			if a.Index > 5 {
				continue
			}
			vs := []uint64{a.Value, a.ValueTwo}
			if a.Op == profile.OpMaskedEqual {
				vs = []uint64{a.ValueTwo, a.ValueTwo | ^a.Value, a.ValueTwo ^ (a.Value & -a.Value)}
			}
			for _, v := range vs {
				add(a.Index, v)
				add(a.Index, v+1)
				add(a.Index, v-1)
				if bits == 64 {
					add(a.Index, v^(1<<32))
				}
			}
			add(a.Index, ^uint64(0))
		}
	}
	total := 1
	for i := range per {
		per[i] = sortUnique(per[i])
		total *= len(per[i])
		if total > maxArgVectors {
			total = maxArgVectors + 1
		}
	}
	var out [][6]uint64
	if total <= maxArgVectors {
		var rec func(i int, cur [6]uint64)
		rec = func(i int, cur [6]uint64) {
			if i == 6 {
				out = append(out, cur)
				return
			}
			for _, v := range per[i] {
				cur[i] = v
				rec(i+1, cur)
			}
		}
		rec(0, [6]uint64{})
		return out
	}
	// Too many: around each rule's own point (every compared argument at
	// its value), vary one argument over its samples.
	seen := map[[6]uint64]bool{}
	emit := func(v [6]uint64) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	bases := [][6]uint64{{}}
	for _, rule := range conds {
		var b [6]uint64
		for _, a := range rule {
			if a.Index <= 5 {
				v := a.Value
				if a.Op == profile.OpMaskedEqual {
					v = a.ValueTwo
				}
				if bits == 32 {
					v = uint64(uint32(v))
				}
				b[a.Index] = v
			}
		}
		bases = append(bases, b)
	}
	for _, b := range bases {
		emit(b)
		for i := range per {
			for _, v := range per[i] {
				x := b
				x[i] = v
				emit(x)
			}
		}
	}
	return out
}

// dropUnknownToRuntime returns p without the names runc's libseccomp could
// not install, and records them in c.NotInstalled. runc skips a rule whose
// name its libseccomp does not know, and its stub's threshold is the largest
// number it does know; the kernel shows that threshold as the largest
// native number it does not answer with ENOSYS. Names above it are taken as
// unknown to the runtime (libseccomp learns syscalls in number order).
func dropUnknownToRuntime(p *profile.Profile, native *syscalls.Arch, runKernel func(Data, binary.ByteOrder) (uint32, error), c *Comparison) (*profile.Profile, error) {
	if newRuncStub(p, native) == nil {
		return p, nil
	}
	order := ByteOrder(native)
	threshold := int64(-1)
	for nr := uint32(0); nr <= uint32(native.MaxNr())+64; nr++ {
		k, err := runKernel(Data{Nr: int32(nr), Arch: native.Audit}, order)
		if err != nil {
			return nil, err
		}
		if k != enosys {
			threshold = int64(nr)
		}
	}
	drop := map[string]bool{}
	for _, s := range p.Syscalls {
		// A rule that answers ENOSYS itself looks like the stub from
		// the outside: dropping it changes no verdict, and it is not
		// reported as one the runtime failed to install.
		answersENOSYS := s.Action == profile.ActErrno && s.ErrnoRet != nil && *s.ErrnoRet == uint(enosys&RetData)
		for _, n := range s.AllNames() {
			if nr, ok := native.Lookup(n); ok && int64(nr) > threshold && !drop[n] {
				drop[n] = true
				if !answersENOSYS {
					c.NotInstalled = append(c.NotInstalled, n)
				}
			}
		}
	}
	if len(drop) == 0 {
		return p, nil
	}
	sort.Strings(c.NotInstalled)
	q := p.DeepCopy()
	rules := q.Syscalls[:0]
	for _, s := range q.Syscalls {
		var keep []string
		for _, n := range s.AllNames() {
			if !drop[n] {
				keep = append(keep, n)
			}
		}
		if len(keep) == 0 {
			continue
		}
		s.Names, s.Name = keep, ""
		rules = append(rules, s)
	}
	q.Syscalls = rules
	return q, nil
}
