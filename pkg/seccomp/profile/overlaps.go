package profile

import (
	"fmt"
	"slices"
	"strconv"
	"sync"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// MaxRules bounds the rules of a profile Validate checks (a flattened
// profile included). The API admits 1,024 rules per SeccompProfile and
// inheritance chains of MaxDepth+1 = 16 profiles, so a flattened profile
// has at most 16,384; twice that leaves room for a profile written by hand
// or converted with seccompctl, and still bounds what a node agent (with a
// fraction of a CPU) spends on one profile.
const MaxRules = 32768

// maxPairIssues bounds the issues of each severity that pair one syscall
// name of a rule with other rules (duplicate, shadowed, conflicting): the
// pairs of n rules for one syscall grow as n², and a profile the API admits
// could otherwise make validation list millions of them. After that many,
// one more issue of the same severity says that more were left out.
const maxPairIssues = 8

// ruleRef is one rule naming one syscall on one ABI.
type ruleRef struct {
	idx         int
	nameIdx     int // index in names, or -1 for the legacy name field
	name        string
	act         Action
	data        uint
	args        []Arg
	conditional bool // has includes or excludes
	// mux marks the copy of a rule that a multiplexing ABI applies to
	// socketcall/ipc; its own argument-0 comparisons are gone there, so
	// copies of rules that differ only in argument 0 are not duplicates.
	mux bool
	// dupKey is the rule's verdict and comparisons (unused for mux copies):
	// rules with equal keys are duplicates.
	dupKey string
}

// field is the name's field, for messages. It is built only when reported:
// formatting it for every name of every rule made validation of a large
// profile spend most of its time in fmt.
func (r ruleRef) field() string {
	if r.nameIdx < 0 {
		return fmt.Sprintf("syscalls[%d].name", r.idx)
	}
	return fmt.Sprintf("syscalls[%d].names[%d]", r.idx, r.nameIdx)
}

// sameVerdict is verdict(a) == verdict(b) without formatting either.
func sameVerdict(a, b *ruleRef) bool { return a.act == b.act && a.data == b.data }

// overlapRef is one (ABI, number, rule name) of a profile in overlaps. It
// is pointer-free (the ABI an index, the name found again through rule and
// nameIdx), so the collector never scans it.
type overlapRef struct {
	ord     int32 // first-appearance order of (abi, number)
	rule    int32
	abi     int32
	nameIdx int32 // index in names, or -1 for the legacy name field
	muxArgs int32 // -1: the rule's own args; else an index in muxArgs
}

// overlapScratch is overlaps' working memory, reused by the next
// validation: node agents validate every profile they install, and these
// tables were most of what a validation allocated.
type overlapScratch struct {
	all                 []overlapRef
	ordOf, grouped      []int32
	bases, start, place []int
}

var overlapPool = sync.Pool{New: func() any { return new(overlapScratch) }}

// pairReporter appends the issues of overlaps: each (field, message) once,
// at most maxPairIssues per field and severity, then one issue saying more
// were left out.
type pairReporter struct {
	v      *validator
	seen   map[string]bool
	counts map[[2]int]*[2]int // per field (rule, name index): notes, errors
}

func sevIndex(sev Severity) int {
	if sev == SeverityError {
		return 1
	}
	return 0
}

func (r *pairReporter) report(b *ruleRef, sev Severity, msg string) {
	field := b.field()
	k := field + "\x00" + msg
	if r.seen[k] {
		return
	}
	r.seen[k] = true
	c := r.counts[[2]int{b.idx, b.nameIdx}]
	if c == nil {
		c = new([2]int)
		r.counts[[2]int{b.idx, b.nameIdx}] = c
	}
	value := b.name
	i := sevIndex(sev)
	c[i]++
	switch {
	case c[i] <= maxPairIssues:
		r.v.out = append(r.v.out, Issue{Field: field, Value: value, Message: msg, Severity: sev})
	case c[i] == maxPairIssues+1:
		kind := "notes"
		if sev == SeverityError {
			kind = "errors"
		}
		r.v.out = append(r.v.out, Issue{Field: field, Value: value, Severity: sev,
			Message: fmt.Sprintf("and more %s pairing this name with other rules (only the first %d are listed): fix those and validate again", kind, maxPairIssues)})
	}
}

// full reports whether b's field has all the issues of each severity it
// can get: any further one would be dropped.
func (r *pairReporter) full(b *ruleRef) (notes, errors bool) {
	c := r.counts[[2]int{b.idx, b.nameIdx}]
	if c == nil {
		return false, false
	}
	return c[0] > maxPairIssues, c[1] > maxPairIssues
}

// overlaps reports identical rules, and duplicated, shadowed and
// conflicting rules per syscall number and ABI, following Evaluate's
// precedence. It is near-linear in the rules: identical rules are found by
// a key, the rules of one syscall are compared with the earlier rules that
// can overlap them (same comparisons, or the same value compared for
// equality on the argument most of them compare), not with all.
func (v *validator) overlaps(abis []*syscalls.Arch) {
	if len(abis) == 0 {
		return
	}
	rep := &pairReporter{v: v, seen: map[string]bool{}, counts: map[[2]int]*[2]int{}}
	groups := v.collectGroups(abis)
	defer groups.release()
	refs := make([]ruleRef, 0, 8)
	var pos, buf []int32
	classes := map[string][]int32{}
	// buckets[v] is the first and last ref comparing the common argument
	// with v; next chains each to the following one (a map of slices
	// allocated one slice per value, most of them holding one ref).
	buckets := map[uint64][2]int32{}
	var next, wild []int32
	for o := 0; o < groups.n; o++ {
		abi, ok := groups.refs(o, &refs)
		if !ok {
			continue
		}
		// Evaluate's precedence: the first unconditional rule decides.
		first := -1
		for i, r := range refs {
			if len(r.args) == 0 && !r.conditional {
				first = i
				break
			}
		}
		clear(classes)
		clear(buckets)
		wild = wild[:0]
		next = slices.Grow(next[:0], len(refs))[:len(refs)]
		eqIdx := -1
		if first < 0 {
			eqIdx = CommonEqIndex(refs, func(r *ruleRef) []Arg { return r.args })
		}
		max := argMax(abi.Bits)
		for j := range refs {
			b := &refs[j]
			if first >= 0 && j != first && refs[first].idx != b.idx && !sameVerdict(b, &refs[first]) {
				d := &refs[first]
				rep.report(b, SeverityNote, fmt.Sprintf("shadowed: the unconditional rule in syscalls[%d] (%s) decides this syscall", d.idx, verdict(*d)))
			}
			// The earlier rules that can pair with b, in profile order.
			switch {
			case first >= 0:
				// Only duplicates are reported.
				pos = nil
				if !b.mux {
					pos = classes[b.dupKey]
				}
			case eqIdx >= 0:
				if v, ok := EqValue(b.args, eqIdx, max); ok {
					buf = buf[:0]
					if h, ok := buckets[v]; ok {
						for p := h[0]; p >= 0; p = next[p] {
							buf = append(buf, p)
						}
					}
					buf = mergeSorted(buf[len(buf):], buf, wild)
				} else {
					buf = allBefore(buf[:0], j)
				}
				pos = buf
			default:
				buf = allBefore(buf[:0], j)
				pos = buf
			}
			for _, p := range pos {
				a := &refs[p]
				if a.idx == b.idx {
					continue // the same name twice in one rule: noted by rule()
				}
				notesFull, errorsFull := rep.full(b)
				if notesFull && (errorsFull || first >= 0) {
					break
				}
				if sameVerdict(a, b) {
					if !notesFull && !a.mux && !b.mux && slices.Equal(a.args, b.args) {
						rep.report(b, SeverityNote, fmt.Sprintf("duplicate of the rule in syscalls[%d]", a.idx))
					}
					continue // same verdict, other comparisons: the rules OR
				}
				if first >= 0 {
					continue
				}
				if a.conditional || b.conditional {
					if !notesFull && !Disjoint(a.args, b.args, abi.Bits) {
						rep.report(b, SeverityNote, fmt.Sprintf("verdict %s differs from syscalls[%d] (%s); includes/excludes decide which applies: validate after Resolve", verdict(*b), a.idx, verdict(*a)))
					}
					continue
				}
				if !errorsFull && !Disjoint(a.args, b.args, abi.Bits) {
					rep.report(b, SeverityError, fmt.Sprintf("conflicting rules: syscalls[%d] (%s%s) and syscalls[%d] (%s%s) can both match",
						a.idx, verdict(*a), viaMux(*a, abi), b.idx, verdict(*b), viaMux(*b, abi)))
				}
			}
			// b is an earlier rule for the rules after it.
			switch {
			case first >= 0:
				if !b.mux {
					classes[b.dupKey] = appendRule(classes[b.dupKey], refs, int32(j))
				}
			case eqIdx >= 0:
				if v, ok := EqValue(b.args, eqIdx, max); ok {
					next[j] = -1
					if h, ok := buckets[v]; ok {
						next[h[1]] = int32(j)
						buckets[v] = [2]int32{h[0], int32(j)}
					} else {
						buckets[v] = [2]int32{int32(j), int32(j)}
					}
				} else {
					wild = append(wild, int32(j))
				}
			}
		}
	}
}

// appendRule appends ref j to a class unless the class's last ref is of
// the same rule (a rule naming the syscall twice): one is enough to report
// the duplicate once.
func appendRule(class []int32, refs []ruleRef, j int32) []int32 {
	if n := len(class); n > 0 && refs[class[n-1]].idx == refs[j].idx {
		return class
	}
	return append(class, j)
}

func allBefore(dst []int32, j int) []int32 {
	for i := range j {
		dst = append(dst, int32(i))
	}
	return dst
}

// mergeSorted appends the union of two ascending lists, ascending.
func mergeSorted(dst, a, b []int32) []int32 {
	for len(a) > 0 && len(b) > 0 {
		if a[0] < b[0] {
			dst, a = append(dst, a[0]), a[1:]
		} else {
			dst, b = append(dst, b[0]), b[1:]
		}
	}
	return append(append(dst, a...), b...)
}

func argMax(bits int) uint64 {
	if bits == 32 {
		return 0xffffffff
	}
	return ^uint64(0)
}

// EqValue returns the value of args' first SCMP_CMP_EQ on argument idx, cut
// to max (the ABI's argument width, as Disjoint compares it). A rule with two
// such comparisons matches nothing, so filing it under the first value loses
// no overlap. The validator's overlap check and the compiler's conflict check
// both bucket rules by it.
func EqValue(args []Arg, idx int, max uint64) (uint64, bool) {
	for _, a := range args {
		if a.Op == OpEqualTo && a.Index == uint(idx) {
			return a.Value & max, true
		}
	}
	return 0, false
}

// CommonEqIndex returns the argument that most of the rules compare for
// equality (an ioctl allow list: argument 1), or -1 when none does: rules
// are then bucketed by EqValue of that argument. argsOf gives a rule's
// comparisons.
func CommonEqIndex[R any](rules []R, argsOf func(*R) []Arg) int {
	var n [6]int
	for i := range rules {
		var seen [6]bool
		for _, a := range argsOf(&rules[i]) {
			if a.Op == OpEqualTo && a.Index < 6 && !seen[a.Index] {
				seen[a.Index] = true
				n[a.Index]++
			}
		}
	}
	best := -1
	for i, c := range n {
		if c > 0 && (best < 0 || c > n[best]) {
			best = i
		}
	}
	return best
}

// ruleGroups are the (ABI, syscall number) groups of a profile's rules, in
// the order each first appears, each group's rules in profile order.
type ruleGroups struct {
	v         *validator
	sc        *overlapScratch
	all       []overlapRef
	grouped   []int32
	start     []int
	n         int
	tableABIs []*syscalls.Arch
	info      []ruleInfo
	muxArgs   [][]Arg
}

type ruleInfo struct {
	act    Action
	data   uint
	cond   bool // has includes or excludes
	dupKey string
}

// collectGroups notes identical rules (which it leaves out of the groups)
// and groups the other rules' names by ABI and syscall number.
func (v *validator) collectGroups(abis []*syscalls.Arch) *ruleGroups {
	// All (ABI, number, rule name) triples in one compact slice, grouped
	// below by the order in which each (ABI, number) first appears: a
	// slice of full references per key made validation allocate ~90 KiB
	// per profile, which node agents pay for every profile they install.
	names := v.p.NameCount()
	// ordOf[base[abi]+slot] is 1 + the first-appearance order of (abi,
	// syscall number): a dense table, pointer-free, instead of a map keyed
	// by (abi, number) that each profile allocated and the collector
	// scanned.
	// (A rule's includes.arches can name ABIs beyond abis: ruleABIs.)
	sc := overlapPool.Get().(*overlapScratch)
	g := &ruleGroups{v: v, sc: sc, tableABIs: slices.Clone(abis)}
	bases := sc.bases[:0]
	slots := 0
	for _, a := range abis {
		bases = append(bases, slots)
		slots += a.Slots()
	}
	ordOf := slices.Grow(sc.ordOf[:0], slots)[:slots]
	clear(ordOf)
	abiIndex := func(a *syscalls.Arch) int {
		if k := slices.Index(g.tableABIs, a); k >= 0 {
			return k
		}
		g.tableABIs, bases = append(g.tableABIs, a), append(bases, len(ordOf))
		ordOf = append(ordOf, make([]int32, a.Slots())...)
		return len(bases) - 1
	}
	groups := int32(0)
	all := slices.Grow(sc.all[:0], names*len(abis))
	g.info = make([]ruleInfo, len(v.p.Syscalls))
	firstOf := make(map[string]int, len(v.p.Syscalls))
	var key []byte
	for i := range v.p.Syscalls {
		s := &v.p.Syscalls[i]
		key = ruleKey(key[:0], s)
		if j, dup := firstOf[string(key)]; dup {
			if !v.errorsOnly {
				v.note(fmt.Sprintf("syscalls[%d]", i), "", "identical to syscalls[%d]", j)
			}
			continue
		}
		firstOf[string(key)] = i
		act, data, err := actionData(s.Action, s.ErrnoRet)
		if err != nil {
			continue // reported by rule()
		}
		g.info[i] = ruleInfo{act: act, data: data, cond: !s.Includes.IsEmpty() || !s.Excludes.IsEmpty(),
			dupKey: string(appendArgs(append(strconv.AppendUint(append(key[:0], act...), uint64(data), 10), 0), s.Args))}
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
						g.muxArgs = append(g.muxArgs, MultiplexedArgs(s.Args, m.Call))
						add(slot, int32(len(g.muxArgs)-1))
					}
				}
			}
		}
	}
	sc.ordOf, sc.bases = ordOf, bases
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
	place := append(sc.place[:0], start...)
	grouped := slices.Grow(sc.grouped[:0], len(all))[:len(all)]
	for i, r := range all {
		grouped[place[r.ord]] = int32(i)
		place[r.ord]++
	}
	sc.place = place
	g.all, g.grouped, g.start, g.n = all, grouped, start, int(groups)
	return g
}

// refs fills refs with group o's rules and returns its ABI; false for a
// group of one rule (nothing to shadow, duplicate or conflict with: most
// syscalls of most profiles).
func (g *ruleGroups) refs(o int, refs *[]ruleRef) (*syscalls.Arch, bool) {
	group := g.grouped[g.start[o]:g.start[o+1]]
	if len(group) < 2 {
		return nil, false
	}
	*refs = slices.Grow((*refs)[:0], len(group))
	for _, i := range group {
		r := &g.all[i]
		in := &g.info[r.rule]
		s := &g.v.p.Syscalls[r.rule]
		args, mux := s.Args, r.muxArgs >= 0
		if mux {
			args = g.muxArgs[r.muxArgs]
		}
		name := s.Name
		if r.nameIdx >= 0 {
			name = s.Names[r.nameIdx]
		}
		*refs = append(*refs, ruleRef{idx: int(r.rule), nameIdx: int(r.nameIdx), name: name, act: in.act, data: in.data,
			args: args, conditional: in.cond, mux: mux, dupKey: in.dupKey})
	}
	return g.tableABIs[g.all[group[0]].abi], true
}

func (g *ruleGroups) release() {
	g.sc.all, g.sc.grouped, g.sc.start = g.all, g.grouped, g.start
	overlapPool.Put(g.sc)
}

func verdict(r ruleRef) string {
	switch r.act {
	case ActErrno, ActTrace:
		return fmt.Sprintf("%s %d", r.act, r.data)
	}
	return string(r.act)
}

// viaMux says, for the multiplexed copy of a rule, which syscall it came from.
func viaMux(r ruleRef, abi *syscalls.Arch) string {
	if !r.mux {
		return ""
	}
	return fmt.Sprintf(", %s multiplexed on %s", r.name, abi.Name)
}
