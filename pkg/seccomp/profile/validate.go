package profile

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// MaxErrno is the largest errno a SECCOMP_RET_ERRNO filter can return
// (MAX_ERRNO in the kernel; larger values are not read as errors by libc).
const MaxErrno = 4095

// defaultABIs are the ABIs a profile without architectures (and without an
// archMap) is checked against: the families of the two hosts Kubernetes
// nodes run on (runc would compile it for the host's native ABI only).
var defaultABIs = []string{"x86_64", "x86", "x32", "aarch64", "arm"}

// Validate checks p and returns one Issue per problem, in profile order.
// Errors are what a runtime or our compiler rejects, or what would not do
// what it says: missing or unknown actions, architectures, operators and
// flags; argument indexes above 5; errnoRet on actions that carry no data or
// out of range; defaultErrnoRet without an ERRNO default; syscall names that
// are empty, not name-shaped ([a-z0-9_]+) or unknown on every ABI of the
// profile; rules for one syscall with different verdicts that some call
// can match both (the precedence of Evaluate would silently pick one); both
// "name" and "names", or both architectures and archMap (Docker rejects
// those); malformed minKernel.
//
// Notes are legal but suspicious: names unknown on some ABIs (skipped
// there), duplicated names or rules, rules shadowed by an earlier or later
// unconditional rule for the same syscall, possible conflicts between rules
// guarded by includes/excludes (check them after Resolve), SCMP_ACT_NOTIFY
// without listenerPath (runc requires it), non-OCI architecture spellings.
//
// The ABIs names are checked against: p.Architectures; else the archMap's
// architectures and sub-architectures; else x86_64, x86, x32, aarch64 and
// arm. A rule restricted by includes.arches is checked against those
// architectures' families only. ABIs without a syscall table are not used.
func Validate(p *Profile) Issues {
	return validate(p, false)
}

// ValidateErrors is Validate(p).Errors() without the notes, which it does
// not build: for callers that only decide whether p may be installed (node
// agents validate every profile they install, and the notes of a profile
// for several ABIs were a fifth of what a validation allocated).
func ValidateErrors(p *Profile) Issues {
	return validate(p, true)
}

func validate(p *Profile, errorsOnly bool) Issues {
	if p == nil {
		return Issues{{Field: "profile", Message: "nil profile", Severity: SeverityError}}
	}
	v := validator{p: p, errorsOnly: errorsOnly}
	v.top()
	abis := v.profileABIs()
	for i := range p.Syscalls {
		v.rule(i, abis)
	}
	v.overlaps(abis)
	if errorsOnly {
		return v.out.Errors() // overlaps' rare notes are built all the same
	}
	return v.out
}

type validator struct {
	p   *Profile
	out Issues
	// errorsOnly: notes are dropped (ValidateErrors); code that builds a
	// note's text from more than constants checks it first.
	errorsOnly bool
}

func (v *validator) err(field, value, format string, a ...any) {
	v.out = append(v.out, Issue{Field: field, Value: value, Message: fmt.Sprintf(format, a...), Severity: SeverityError})
}

func (v *validator) note(field, value, format string, a ...any) {
	if v.errorsOnly {
		return
	}
	v.out = append(v.out, Issue{Field: field, Value: value, Message: fmt.Sprintf(format, a...), Severity: SeverityNote})
}

func (v *validator) top() {
	p := v.p
	v.action("defaultAction", p.DefaultAction)
	if p.DefaultErrnoRet != nil {
		val := strconv.FormatUint(uint64(*p.DefaultErrnoRet), 10)
		switch {
		case p.DefaultAction != ActErrno:
			v.err("defaultErrnoRet", val, "set but defaultAction is %s, not %s", orNone(p.DefaultAction), ActErrno)
		case *p.DefaultErrnoRet > MaxErrno:
			v.err("defaultErrnoRet", val, "errno out of range 0..%d", MaxErrno)
		}
	}
	seen := map[*syscalls.Arch]int{}
	for i, a := range p.Architectures {
		v.arch(fmt.Sprintf("architectures[%d]", i), a, seen)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		v.err("archMap", "", "both architectures and archMap are set; Docker rejects this, use one")
	}
	for i, m := range p.ArchMap {
		seen := map[*syscalls.Arch]int{}
		v.arch(fmt.Sprintf("archMap[%d].architecture", i), m.Arch, seen)
		for j, s := range m.SubArches {
			v.arch(fmt.Sprintf("archMap[%d].subArchitectures[%d]", i, j), s, seen)
		}
	}
	flags := map[string]int{}
	for i, f := range p.Flags {
		field := fmt.Sprintf("flags[%d]", i)
		if !slices.Contains(KnownFlags, f) {
			v.err(field, f, "unknown flag (known: %s)", strings.Join(KnownFlags, ", "))
			continue
		}
		if j, dup := flags[f]; dup {
			v.note(field, f, "duplicate of flags[%d]", j)
			continue
		}
		flags[f] = i
	}
	if p.DefaultAction == ActNotify && p.ListenerPath == "" {
		v.note("defaultAction", string(p.DefaultAction), "no listenerPath is set; runc refuses SCMP_ACT_NOTIFY without one")
	}
}

func orNone(a Action) string {
	if a == "" {
		return "not set"
	}
	return string(a)
}

func (v *validator) action(field string, a Action) bool {
	if a == "" {
		v.err(field, "", "missing action")
		return false
	}
	if !slices.Contains(KnownActions, a) {
		v.err(field, string(a), "unknown action")
		return false
	}
	return true
}

func (v *validator) arch(field, name string, seen map[*syscalls.Arch]int) {
	a, ok := syscalls.Get(name)
	if !ok {
		v.err(field, name, "unknown architecture")
		return
	}
	if name != a.SCMP() {
		v.note(field, name, "not the OCI spelling %s; runc rejects other spellings", a.SCMP())
	}
	if i, dup := seen[a]; dup {
		v.note(field, name, "duplicate architecture (see index %d)", i)
		return
	}
	seen[a] = len(seen)
}

// profileABIs returns the ABIs (with syscall tables) names are checked on.
func (v *validator) profileABIs() []*syscalls.Arch {
	var names []string
	switch {
	case len(v.p.Architectures) > 0:
		names = v.p.Architectures
	case len(v.p.ArchMap) > 0:
		for _, m := range v.p.ArchMap {
			names = append(names, m.Arch)
			names = append(names, m.SubArches...)
		}
	default:
		names = defaultABIs
	}
	return tabled(names)
}

func tabled(names []string) []*syscalls.Arch {
	var out []*syscalls.Arch
	for _, n := range names {
		if a, ok := syscalls.Get(n); ok && a.HasTable && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// ruleABIs narrows abis to the families of the rule's includes.arches (in
// Docker's spelling: amd64, arm64, x32, s390x, ...).
func ruleABIs(s *Syscall, abis []*syscalls.Arch) []*syscalls.Arch {
	if s.Includes == nil || len(s.Includes.Arches) == 0 {
		return abis
	}
	var fam []string
	for _, a := range s.Includes.Arches {
		if n, ok := dockerArch(a); ok {
			for _, f := range syscalls.Family(n.Name) {
				fam = append(fam, f.Name)
			}
		}
	}
	cand := tabled(fam)
	var out []*syscalls.Arch
	for _, a := range cand {
		if slices.Contains(abis, a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		// The profile's own list does not cover them (an unresolved Docker
		// profile with archMap entries for fewer hosts): check the rule's.
		return cand
	}
	return out
}

func isSyscallName(n string) bool {
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return n != ""
}

func (v *validator) rule(i int, abis []*syscalls.Arch) {
	s := &v.p.Syscalls[i]
	base := fmt.Sprintf("syscalls[%d]", i)
	okAction := v.action(base+".action", s.Action)
	if s.ErrnoRet != nil {
		val := strconv.FormatUint(uint64(*s.ErrnoRet), 10)
		switch {
		case okAction && s.Action != ActErrno && s.Action != ActTrace:
			v.err(base+".errnoRet", val, "set on action %s; only %s and %s carry data", s.Action, ActErrno, ActTrace)
		case s.Action == ActErrno && *s.ErrnoRet > MaxErrno:
			v.err(base+".errnoRet", val, "errno out of range 0..%d", MaxErrno)
		case s.Action == ActTrace && *s.ErrnoRet > 0xffff:
			v.err(base+".errnoRet", val, "trace message out of range 0..65535")
		}
	}
	if s.Action == ActNotify && v.p.ListenerPath == "" {
		v.note(base+".action", string(s.Action), "no listenerPath is set; runc refuses SCMP_ACT_NOTIFY without one")
	}
	if s.Name != "" && len(s.Names) > 0 {
		v.err(base+".name", s.Name, "both name and names are set; Docker rejects this, use names")
	}
	if s.Name == "" && len(s.Names) == 0 {
		v.err(base+".names", "", "no syscall names")
	}
	checked := ruleABIs(s, abis)
	// Field paths are built only for an issue: a rule names up to
	// hundreds of syscalls, and node agents validate every profile.
	fieldOf := func(j int) string {
		if j < 0 {
			return base + ".name"
		}
		return base + ".names[" + strconv.Itoa(j) + "]"
	}
	seen := make(map[string]int, len(s.Names)+1)
	check := func(j int, n string) {
		if n == "" {
			v.err(fieldOf(j), n, "empty syscall name")
			return
		}
		if !isSyscallName(n) {
			v.err(fieldOf(j), n, "not a syscall name (want [a-z0-9_]+)")
			return
		}
		if prev, dup := seen[n]; dup {
			if !v.errorsOnly {
				v.note(fieldOf(j), n, "duplicate of %s", fieldOf(prev))
			}
			return
		}
		seen[n] = j
		if len(checked) == 0 {
			return
		}
		id, known := syscalls.IDOf(n)
		var buf [8]string // on the stack: most names are missing nowhere
		missing := buf[:0]
		for _, a := range checked {
			if _, ok := a.Nr(id); !known || !ok {
				missing = append(missing, a.Name)
			}
		}
		if len(missing) == 0 || (v.errorsOnly && len(missing) < len(checked)) {
			return // present everywhere, or only a note
		}
		switch {
		case len(missing) == len(checked):
			if elsewhere := knownOn(n); len(elsewhere) > 0 {
				// Multi-arch profiles (Docker's, CRI-O's, containerd's)
				// list every ABI's syscalls in one rule; libseccomp skips
				// a name on ABIs that lack it.
				v.note(fieldOf(j), n, "no such syscall on %s (only on %s): skipped", strings.Join(missing, ", "), strings.Join(elsewhere, ", "))
				return
			}
			v.err(fieldOf(j), n, "unknown syscall on %s", strings.Join(missing, ", "))
		default:
			v.note(fieldOf(j), n, "skipped on %s (no such syscall there)", strings.Join(missing, ", "))
		}
	}
	for j, n := range s.Names {
		check(j, n)
	}
	if s.Name != "" {
		check(-1, s.Name)
	}
	for j, a := range s.Args {
		field := fmt.Sprintf("%s.args[%d]", base, j)
		if a.Index > 5 {
			v.err(field+".index", strconv.FormatUint(uint64(a.Index), 10), "argument index out of range 0..5")
		}
		switch {
		case a.Op == "":
			v.err(field+".op", "", "missing operator")
		case !slices.Contains(KnownOperators, a.Op):
			v.err(field+".op", string(a.Op), "unknown operator")
		}
	}
	v.filter(base+".includes", s.Includes)
	v.filter(base+".excludes", s.Excludes)
}

func (v *validator) filter(base string, f *Filter) {
	if f == nil {
		return
	}
	for i, a := range f.Arches {
		if _, ok := dockerArch(a); !ok {
			v.err(fmt.Sprintf("%s.arches[%d]", base, i), a, "unknown architecture")
		}
	}
	for i, c := range f.Caps {
		if !strings.HasPrefix(c, "CAP_") {
			v.note(fmt.Sprintf("%s.caps[%d]", base, i), c, "capability names start with CAP_; Docker compares them verbatim")
		}
	}
	if f.MinKernel != "" {
		if _, _, err := parseMinKernel(f.MinKernel); err != nil {
			v.err(base+".minKernel", f.MinKernel, "%v", err)
		}
	}
}

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

// overlaps reports duplicated, shadowed and conflicting rules per syscall
// number and ABI, following Evaluate's precedence.
func (v *validator) overlaps(abis []*syscalls.Arch) {
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
	sc := overlapPool.Get().(*overlapScratch)
	defer overlapPool.Put(sc)
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
	defer func() { sc.all, sc.ordOf, sc.bases = all, ordOf, bases }()
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
	report := func(sev Severity, field, value, msg string) {
		k := field + "\x00" + msg
		if reported[k] {
			return
		}
		reported[k] = true
		v.out = append(v.out, Issue{Field: field, Value: value, Message: msg, Severity: sev})
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
	defer func() { sc.start, sc.place, sc.grouped = start, pos, grouped }()
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

func verdict(r ruleRef) string {
	switch r.act {
	case ActErrno, ActTrace:
		return fmt.Sprintf("%s %d", r.act, r.data)
	}
	return string(r.act)
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

// knownOn returns the architectures that have a syscall named n.
func knownOn(n string) []string {
	var out []string
	for _, a := range syscalls.WithTables() {
		if _, ok := a.Lookup(n); ok {
			out = append(out, a.Name)
		}
	}
	return out
}

// viaMux says, for the multiplexed copy of a rule, which syscall it came from.
func viaMux(r ruleRef, abi *syscalls.Arch) string {
	if !r.mux {
		return ""
	}
	return fmt.Sprintf(", %s multiplexed on %s", r.name, abi.Name)
}
