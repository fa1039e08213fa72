package profile

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

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
//
// The work is near-linear in the rules (overlaps.go). A name gets at most
// maxPairIssues issues of each severity pairing it with other rules, then
// one saying more were left out; a profile of more than MaxRules rules gets
// one error and no other check.
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
	if n := len(p.Syscalls); n > MaxRules {
		// Checked first and alone: the checks below are what the cap
		// bounds.
		return Issues{{Field: "syscalls", Value: strconv.Itoa(n), Severity: SeverityError,
			Message: fmt.Sprintf("%d rules, more than the %d a profile may have: merge rules that share an action and comparisons (names lists many syscalls)", n, MaxRules)}}
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
