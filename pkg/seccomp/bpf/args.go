package bpf

import (
	"fmt"
	"sort"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// argBlock decides a syscall by its arguments: the first rule (comparisons
// ANDed) that matches gives its verdict, none matching gives def. When all
// rules share one verdict their order does not matter, so they are sorted
// (equal blocks are then shared by all syscalls that have them) and single
// equalities on one argument are tested as a set.
type argBlock struct {
	key       string
	bits      int
	bigEndian bool
	rules     []condRule
	def       uint32
	// eqSets holds, per argument index, the values of the rules that are a
	// single SCMP_CMP_EQ on that argument (Docker's personality rules): they
	// are tested with one load per word and a chain of JEQs giving eqRet.
	eqSets map[uint][]uint64
	eqRet  uint32
}

// leafFor returns the tree leaf for a syscall with rules r on abi.
func (c *compiler) leafFor(abi *syscalls.Arch, r *sysRules) leaf {
	if r.always {
		return retLeaf(c.verdict(r.ret))
	}
	b := &argBlock{bits: abi.Bits, bigEndian: abi.BigEndian, def: c.defRet, eqSets: map[uint][]uint64{}}
	oneRet := true
	for _, cr := range r.conds {
		cr.ret = c.verdict(cr.ret)
		oneRet = oneRet && cr.ret == c.verdict(r.conds[0].ret)
		b.rules = append(b.rules, cr)
	}
	if oneRet {
		if b.rules[0].ret == c.defRet {
			return retLeaf(c.defRet)
		}
		b.groupSingleVerdict()
	}
	b.key = fmt.Sprintf("args:%d:%t:%#x:%v:%v:%#x", b.bits, b.bigEndian, c.defRet, b.rules, b.eqSets, b.eqRet)
	return leaf{block: b}
}

// groupSingleVerdict moves single equalities into eqSets and sorts the rest.
func (b *argBlock) groupSingleVerdict() {
	b.eqRet = b.rules[0].ret
	var rest []condRule
	for _, cr := range b.rules {
		if len(cr.args) == 1 && cr.args[0].Op == profile.OpEqualTo {
			v := cr.args[0].Value
			if b.bits == 32 {
				v &= 0xffffffff
			}
			b.eqSets[cr.args[0].Index] = append(b.eqSets[cr.args[0].Index], v)
			continue
		}
		rest = append(rest, cr)
	}
	sort.SliceStable(rest, func(i, j int) bool { return fmt.Sprint(rest[i].args) < fmt.Sprint(rest[j].args) })
	b.rules = rest
	for i, vs := range b.eqSets {
		b.eqSets[i] = sortUnique(vs)
	}
}

// emit emits the block and returns its entry.
func (b *argBlock) emit(e *emitter) target {
	next := retTarget(b.def)
	for r := len(b.rules) - 1; r >= 0; r-- {
		next = b.emitRule(e, b.rules[r].args, retTarget(b.rules[r].ret), next)
	}
	idxs := make([]uint, 0, len(b.eqSets))
	for i := range b.eqSets {
		idxs = append(idxs, i)
	}
	sort.Slice(idxs, func(i, j int) bool { return idxs[i] > idxs[j] })
	for _, i := range idxs {
		next = b.emitEqSet(e, i, b.eqSets[i], retTarget(b.eqRet), next)
	}
	return next
}

// emitEqSet tests "argument i equals one of values" (sorted): on 64-bit ABIs
// the values are grouped by high word, so each group costs one load and
// compare of the high word, one load of the low word and a JEQ per value.
func (b *argBlock) emitEqSet(e *emitter, i uint, values []uint64, pass, fail target) target {
	lo, hi := argOffsets(i, b.bigEndian)
	for end := len(values); end > 0; {
		start := end - 1
		for start > 0 && hi32(values[start-1]) == hi32(values[end-1]) {
			start--
		}
		next := fail
		for k := end - 1; k >= start; k-- {
			next = e.jump(opJeqK, uint32(values[k]), pass, next)
		}
		e.load(lo)
		if b.bits == 64 {
			e.jump(opJeqK, hi32(values[start]), e.last(), fail)
			e.load(hi)
		}
		fail = e.last()
		end = start
	}
	return fail
}

func sortUnique(vs []uint64) []uint64 {
	sort.Slice(vs, func(i, j int) bool { return vs[i] < vs[j] })
	out := vs[:0]
	for i, v := range vs {
		if i == 0 || v != vs[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// emitRule emits the comparisons of one rule; all passing leads to pass,
// any failing to fail.
func (b *argBlock) emitRule(e *emitter, args []profile.Arg, pass, fail target) target {
	for k := len(args) - 1; k >= 0; k-- {
		if b.bits == 64 {
			pass = cmp64(e, args[k], b.bigEndian, pass, fail)
		} else {
			pass = cmp32(e, args[k], b.bigEndian, pass, fail)
		}
	}
	return pass
}

func hi32(v uint64) uint32 { return uint32(v >> 32) }

// cmp64 emits an unsigned 64-bit comparison of argument a as 32-bit word
// comparisons: the high words decide unless equal, then the low words do.
func cmp64(e *emitter, a profile.Arg, bigEndian bool, pass, fail target) target {
	lo, hi := argOffsets(a.Index, bigEndian)
	v := a.Value
	switch a.Op {
	case profile.OpEqualTo:
		e.jump(opJeqK, uint32(v), pass, fail)
		e.load(lo)
		e.jump(opJeqK, hi32(v), e.last(), fail)
	case profile.OpNotEqual:
		e.jump(opJeqK, uint32(v), fail, pass)
		e.load(lo)
		e.jump(opJeqK, hi32(v), e.last(), pass)
	case profile.OpGreaterThan, profile.OpGreaterEqual:
		op := opJgtK
		if a.Op == profile.OpGreaterEqual {
			op = opJgeK
		}
		e.jump(op, uint32(v), pass, fail)
		e.load(lo)
		e.jump(opJeqK, hi32(v), e.last(), fail)
		e.jump(opJgtK, hi32(v), pass, e.last())
	case profile.OpLessThan, profile.OpLessEqual:
		// a < v is !(a >= v); a <= v is !(a > v).
		op := opJgeK
		if a.Op == profile.OpLessEqual {
			op = opJgtK
		}
		e.jump(op, uint32(v), fail, pass)
		e.load(lo)
		e.jump(opJeqK, hi32(v), e.last(), pass)
		e.jump(opJgtK, hi32(v), fail, e.last())
	case profile.OpMaskedEqual:
		return masked(e, a, lo, hi, true, pass, fail)
	}
	e.load(hi)
	return e.last()
}

// cmp32 emits a comparison on a 32-bit ABI. As libseccomp 2.5.4 does
// (db.c, _db_rule_gen_32), only the low 32-bit word of the argument is
// loaded and compared with the low 32 bits of the rule's value (and mask):
// the upper 32 bits of a rule value are ignored on these ABIs.
func cmp32(e *emitter, a profile.Arg, bigEndian bool, pass, fail target) target {
	lo, _ := argOffsets(a.Index, bigEndian)
	v := uint32(a.Value)
	switch a.Op {
	case profile.OpEqualTo:
		e.jump(opJeqK, v, pass, fail)
	case profile.OpNotEqual:
		e.jump(opJeqK, v, fail, pass)
	case profile.OpGreaterThan:
		e.jump(opJgtK, v, pass, fail)
	case profile.OpGreaterEqual:
		e.jump(opJgeK, v, pass, fail)
	case profile.OpLessThan:
		e.jump(opJgeK, v, fail, pass)
	case profile.OpLessEqual:
		e.jump(opJgtK, v, fail, pass)
	case profile.OpMaskedEqual:
		return masked(e, a, lo, 0, false, pass, fail)
	}
	e.load(lo)
	return e.last()
}

// masked emits (arg & mask) == (value & mask) word by word. Like libseccomp
// (db.c, _db_node_mask_fixup) the expected value is masked too, and a word
// whose mask is zero is not tested at all.
func masked(e *emitter, a profile.Arg, lo, hi uint32, wide bool, pass, fail target) target {
	mask, want := a.Value, a.ValueTwo&a.Value
	pass = maskedWord(e, lo, uint32(mask), uint32(want), pass, fail)
	if wide {
		pass = maskedWord(e, hi, hi32(mask), hi32(want), pass, fail)
	}
	return pass
}

func maskedWord(e *emitter, off, mask, want uint32, pass, fail target) target {
	if mask == 0 {
		return pass
	}
	e.jump(opJeqK, want, pass, fail)
	if mask != 0xffffffff {
		e.and(mask)
	}
	e.load(off)
	return e.last()
}
