package profile

import (
	"fmt"
	"reflect"
	"slices"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// This file keeps the simple, quadratic definition of the overlap checks
// (every rule of a syscall against every earlier one; identical rules by
// pairwise comparison), as overlaps was before it was made near-linear:
// the differential test and FuzzValidateOverlaps hold Validate to it.

// validateQuadratic is Validate with overlapsQuadratic; limit is the
// number of pair issues per field and severity (-1: all of them).
func validateQuadratic(p *Profile, limit int) Issues {
	v := validator{p: p}
	v.top()
	abis := v.profileABIs()
	for i := range p.Syscalls {
		v.rule(i, abis)
	}
	v.overlapsQuadratic(abis, limit)
	return v.out
}

func (v *validator) overlapsQuadratic(abis []*syscalls.Arch, limit int) {
	if len(abis) == 0 {
		return
	}
	// All (ABI, number, rule name) triples in one compact slice, grouped
	// below by the order in which each (ABI, number) first appears: a
	// slice of full references per key made validation allocate ~90 KiB
	// per profile, which node agents pay for every profile they install.
	type ruleInfo struct {
		act  Action
		data uint
		cond bool // has includes or excludes
	}
	names := v.p.NameCount()
	// ordOf[base[abi]+slot] is 1 + the first-appearance order of (abi,
	// syscall number): a dense table, pointer-free, instead of a map keyed
	// by (abi, number) that each profile allocated and the collector
	// scanned.
	// (A rule's includes.arches can name ABIs beyond abis: ruleABIs.)
	sc := new(overlapScratch)
	tableABIs := slices.Clone(abis)
	bases := sc.bases[:0]
	slots := 0
	for _, a := range abis {
		bases = append(bases, slots)
		slots += a.Slots()
	}
	ordOf := slices.Grow(sc.ordOf[:0], slots)[:slots]
	clear(ordOf)
	abiIndex := func(a *syscalls.Arch) int {
		if k := slices.Index(tableABIs, a); k >= 0 {
			return k
		}
		tableABIs, bases = append(tableABIs, a), append(bases, len(ordOf))
		ordOf = append(ordOf, make([]int32, a.Slots())...)
		return len(bases) - 1
	}
	groups := int32(0)
	all := slices.Grow(sc.all[:0], names*len(abis))
	nameOf := func(r *overlapRef) string {
		if r.nameIdx < 0 {
			return v.p.Syscalls[r.rule].Name
		}
		return v.p.Syscalls[r.rule].Names[r.nameIdx]
	}
	info := make([]ruleInfo, len(v.p.Syscalls))
	var muxArgs [][]Arg
	identical := map[int]bool{}
	for i := range v.p.Syscalls {
		s := &v.p.Syscalls[i]
		for j := 0; j < i; j++ {
			if sameRule(&v.p.Syscalls[j], s) {
				v.note(fmt.Sprintf("syscalls[%d]", i), "", "identical to syscalls[%d]", j)
				identical[i] = true
				break
			}
		}
		if identical[i] {
			continue
		}
		act, data, err := actionData(s.Action, s.ErrnoRet)
		if err != nil {
			continue // reported by rule()
		}
		info[i] = ruleInfo{act: act, data: data, cond: !s.Includes.IsEmpty() || !s.Excludes.IsEmpty()}
		for ni, n := range s.AllNames() {
			nameIdx := int32(ni)
			if ni >= len(s.Names) {
				nameIdx = -1
			}
			id, known := syscalls.IDOf(n)
			if !known {
				continue // on no ABI at all: reported by rule()
			}
			for _, a := range ruleABIs(s, abis) {
				ai := abiIndex(a)
				add := func(slot int, mux int32) {
					k := bases[ai] + slot
					if ordOf[k] == 0 {
						groups++
						ordOf[k] = groups
					}
					all = append(all, overlapRef{abi: int32(ai), ord: ordOf[k] - 1, rule: int32(i), nameIdx: nameIdx, muxArgs: mux})
				}
				if slot, ok := a.Slot(id); ok {
					add(slot, -1)
				}
				// On ABIs that multiplex (x86 socketcall, ipc), the rule
				// also applies to the multiplexer with argument 0 equal
				// to the call number, and can overlap rules on it.
				if m, ok := MultiplexedID(a, id); ok {
					if slot, ok := a.Slot(m.ID); ok {
						muxArgs = append(muxArgs, MultiplexedArgs(s.Args, m.Call))
						add(slot, int32(len(muxArgs)-1))
					}
				}
			}
		}
	}
	reported := map[string]bool{}
	counts := map[string]int{}
	report := func(sev Severity, field, value, msg string) {
		k := field + "\x00" + msg
		if reported[k] {
			return
		}
		reported[k] = true
		ck := field + "\x00" + string(sev)
		counts[ck]++
		switch {
		case limit < 0 || counts[ck] <= limit:
			v.out = append(v.out, Issue{Field: field, Value: value, Message: msg, Severity: sev})
		case counts[ck] == limit+1:
			kind := "notes"
			if sev == SeverityError {
				kind = "errors"
			}
			v.out = append(v.out, Issue{Field: field, Value: value, Severity: sev,
				Message: fmt.Sprintf("and more %s pairing this name with other rules (only the first %d are listed): fix those and validate again", kind, limit)})
		}
	}
	// Group by key in first-appearance order, keeping each key's rules in
	// profile order (a counting sort: stable, no comparisons).
	start := slices.Grow(sc.start[:0], int(groups)+1)[:groups+1]
	clear(start)
	for _, r := range all {
		start[r.ord+1]++
	}
	for o := 1; o < len(start); o++ {
		start[o] += start[o-1]
	}
	pos := append(sc.place[:0], start...)
	grouped := slices.Grow(sc.grouped[:0], len(all))[:len(all)]
	for i, r := range all {
		grouped[pos[r.ord]] = int32(i)
		pos[r.ord]++
	}
	refs := make([]ruleRef, 0, 8)
	for o := 0; o < int(groups); o++ {
		group := grouped[start[o]:start[o+1]]
		if len(group) == 1 {
			// One rule names this syscall: nothing to shadow, duplicate
			// or conflict with. Most syscalls of most profiles.
			continue
		}
		abi := tableABIs[all[group[0]].abi]
		refs = refs[:0]
		for _, i := range group {
			r := &all[i]
			in := &info[r.rule]
			args, mux := v.p.Syscalls[r.rule].Args, r.muxArgs >= 0
			if mux {
				args = muxArgs[r.muxArgs]
			}
			refs = append(refs, ruleRef{idx: int(r.rule), nameIdx: int(r.nameIdx), name: nameOf(r), act: in.act, data: in.data, args: args, conditional: in.cond, mux: mux})
		}
		// Evaluate's precedence: the first unconditional rule decides.
		first := -1
		for i, r := range refs {
			if len(r.args) == 0 && !r.conditional {
				first = i
				break
			}
		}
		for j, b := range refs {
			name := b.name
			if first >= 0 && j != first && refs[first].idx != b.idx && verdict(b) != verdict(refs[first]) {
				d := refs[first]
				report(SeverityNote, b.field(), name, fmt.Sprintf("shadowed: the unconditional rule in syscalls[%d] (%s) decides this syscall", d.idx, verdict(d)))
			}
			for _, a := range refs[:j] {
				if a.idx == b.idx {
					continue // the same name twice in one rule: noted by rule()
				}
				if verdict(a) == verdict(b) {
					if !a.mux && !b.mux && reflect.DeepEqual(nilArgs(a.args), nilArgs(b.args)) {
						report(SeverityNote, b.field(), name, fmt.Sprintf("duplicate of the rule in syscalls[%d]", a.idx))
					}
					continue // same verdict, other comparisons: the rules OR
				}
				if first >= 0 || Disjoint(a.args, b.args, abi.Bits) {
					continue
				}
				if a.conditional || b.conditional {
					report(SeverityNote, b.field(), name, fmt.Sprintf("verdict %s differs from syscalls[%d] (%s); includes/excludes decide which applies: validate after Resolve", verdict(b), a.idx, verdict(a)))
					continue
				}
				report(SeverityError, b.field(), name, fmt.Sprintf("conflicting rules: syscalls[%d] (%s%s) and syscalls[%d] (%s%s) can both match",
					a.idx, verdict(a), viaMux(a, abi), b.idx, verdict(b), viaMux(b, abi)))
			}
		}
	}
}

func nilArgs(a []Arg) []Arg {
	if len(a) == 0 {
		return nil
	}
	return a
}

// sameRule reports whether two rules are the same apart from comments.
func sameRule(a, b *Syscall) bool {
	x, y := *a, *b
	x.Comment, y.Comment = "", ""
	x.Args, y.Args = nilArgs(x.Args), nilArgs(y.Args)
	x.Names, y.Names = nilIfEmpty(x.Names), nilIfEmpty(y.Names)
	return reflect.DeepEqual(x, y)
}
