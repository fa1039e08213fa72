package main

import (
	"encoding/json"
	"fmt"
	"os/exec"
	"slices"
	"sort"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// callFn runs containerd's DefaultProfile for each request.
type callFn func([]request) ([]response, error)

// topKernel stands for "newer than every version DefaultProfile compares with".
var topKernel = [2]uint64{255, 255}

// deriveContainerd turns containerd's DefaultProfile, a function of GOARCH,
// capabilities and kernel version, into one profile whose includes/excludes
// say which rules apply where, and checks that profile.Resolve of it gives
// containerd's own output for every input it tried. It returns the profile
// and the GOARCHes covered.
//
// How: per GOARCH, the rules with no capability at the oldest kernel level
// are unconditional; a rule that appears from kernel version t on gets
// includes.minKernel t (one that disappears, excludes.minKernel t); at the
// newest level, a rule that appears with capability c alone gets
// includes.caps [c], one that disappears gets c added to excludes.caps.
// Rules found on every GOARCH get no architecture condition, the others
// includes.arches. The check afterwards is what makes this trustworthy: a
// combination the per-capability view would miss (two capabilities needed
// together, say) shows up as a mismatch and fails the generation.
func deriveContainerd(call callFn, info hookInfo) (*profile.Profile, []string, error) {
	goarches, err := candidateGOARCHes(info.goarches)
	if err != nil {
		return nil, nil, err
	}
	var probe []request
	for _, g := range goarches {
		k := topKernel
		probe = append(probe, request{GOARCH: g, Kernel: &k})
	}
	resps, err := call(probe)
	if err != nil {
		return nil, nil, err
	}
	kernels := kernelLevels(resps)
	capSets := [][]string{nil}
	for _, c := range info.caps {
		capSets = append(capSets, []string{c})
	}
	capSets = append(capSets, profile.DefaultCaps, info.caps)
	var reqs []request
	for _, g := range goarches {
		for _, k := range kernels {
			for _, cs := range capSets {
				k := k
				reqs = append(reqs, request{GOARCH: g, Kernel: &k, Caps: cs})
			}
		}
	}
	if resps, err = call(reqs); err != nil {
		return nil, nil, err
	}
	runs := map[string]*profile.Profile{}
	for _, r := range resps {
		p, err := profile.Parse(r.Profile)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", runKey(r.request), err)
		}
		runs[runKey(r.request)] = p
	}
	get := func(g string, k [2]uint64, caps []string) *profile.Profile {
		return runs[runKey(request{GOARCH: g, Kernel: &k, Caps: caps})]
	}

	last := kernels[len(kernels)-1]
	out := &profile.Profile{}
	first := get(goarches[0], last, nil)
	out.DefaultAction, out.DefaultErrnoRet, out.Flags = first.DefaultAction, first.DefaultErrnoRet, first.Flags
	perArch := map[string][]profile.Syscall{}
	for _, g := range goarches {
		top := get(g, last, nil)
		if top.DefaultAction != out.DefaultAction || !sameUint(top.DefaultErrnoRet, out.DefaultErrnoRet) || !slices.Equal(top.Flags, out.Flags) {
			return nil, nil, fmt.Errorf("GOARCH %s: default action or flags differ from %s's", g, goarches[0])
		}
		native := syscalls.MustGet(g)
		m := profile.ArchMap{Arch: native.SCMP()}
		for _, a := range top.Architectures {
			if x, ok := syscalls.Get(a); !ok || x != native {
				m.SubArches = append(m.SubArches, a)
			}
		}
		out.ArchMap = append(out.ArchMap, m)

		rules := condRules(get(g, kernels[0], nil).Syscalls)
		for i := 1; i < len(kernels); i++ {
			minK := kernelString(kernels[i])
			prev, next := get(g, kernels[i-1], nil).Syscalls, get(g, kernels[i], nil).Syscalls
			for _, r := range multisetMinus(prev, next) {
				if err := markExcluded(rules, r, func(f *profile.Filter) { f.MinKernel = minK }); err != nil {
					return nil, nil, fmt.Errorf("GOARCH %s, kernel %s: %w", g, minK, err)
				}
			}
			for _, r := range multisetMinus(next, prev) {
				r.Includes = &profile.Filter{MinKernel: minK}
				rules = append(rules, r)
			}
		}
		for _, c := range info.caps {
			with := get(g, last, []string{c}).Syscalls
			for _, r := range multisetMinus(top.Syscalls, with) {
				if err := markExcluded(rules, r, func(f *profile.Filter) { f.Caps = append(f.Caps, c) }); err != nil {
					return nil, nil, fmt.Errorf("GOARCH %s, %s: %w", g, c, err)
				}
			}
			for _, r := range multisetMinus(with, top.Syscalls) {
				r.Includes = &profile.Filter{Caps: []string{c}}
				rules = append(rules, r)
			}
		}
		perArch[g] = rules
	}
	out.Syscalls = mergeArches(goarches, perArch)

	for _, r := range resps {
		if err := verify(out, r.request, runs[runKey(r.request)]); err != nil {
			return nil, nil, err
		}
	}
	return out, goarches, nil
}

// candidateGOARCHes are the 64-bit Linux GOARCHes (go tool dist list) the
// syscall tables know as a native architecture, amd64 and arm64 always
// among them: containerd's switches fall back to a default for the others.
func candidateGOARCHes(named []string) ([]string, error) {
	b, err := exec.Command("go", "tool", "dist", "list").Output()
	if err != nil {
		return nil, fmt.Errorf("go tool dist list: %w", err)
	}
	var out []string
	for _, l := range strings.Fields(string(b)) {
		g, ok := strings.CutPrefix(l, "linux/")
		if !ok {
			continue
		}
		a, ok := syscalls.Get(g)
		if !ok || a.Native != a.Name || a.Bits != 64 {
			continue
		}
		out = append(out, g)
	}
	// amd64 and arm64 first: the order of the merged rules follows it.
	sort.SliceStable(out, func(i, j int) bool { return rank(out[i]) < rank(out[j]) })
	for _, n := range []string{"amd64", "arm64"} {
		if !slices.Contains(out, n) {
			return nil, fmt.Errorf("GOARCH %s is not a 64-bit native architecture of the syscall tables", n)
		}
	}
	_ = named // containerd's own cases are all covered by running every GOARCH
	return out, nil
}

func rank(g string) int {
	switch g {
	case "amd64":
		return 0
	case "arm64":
		return 1
	}
	return 2
}

// kernelLevels are the kernel versions to run at: just below the oldest
// version DefaultProfile compares with, then each of them, oldest first
// (only topKernel when it compares with none).
func kernelLevels(resps []response) [][2]uint64 {
	seen := map[[2]uint64]bool{}
	var ts [][2]uint64
	for _, r := range resps {
		for _, t := range r.Thresholds {
			if !seen[t] {
				seen[t] = true
				ts = append(ts, t)
			}
		}
	}
	if len(ts) == 0 {
		return [][2]uint64{topKernel}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i][0] < ts[j][0] || ts[i][0] == ts[j][0] && ts[i][1] < ts[j][1] })
	below := [2]uint64{ts[0][0], ts[0][1] - 1}
	if ts[0][1] == 0 {
		below = [2]uint64{ts[0][0] - 1, 255}
	}
	return append([][2]uint64{below}, ts...)
}

func kernelString(k [2]uint64) string { return fmt.Sprintf("%d.%d", k[0], k[1]) }

func runKey(r request) string {
	k := "unknown"
	if r.Kernel != nil {
		k = kernelString(*r.Kernel)
	}
	return r.GOARCH + " kernel " + k + " caps [" + strings.Join(r.Caps, " ") + "]"
}

func sameUint(a, b *uint) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }

func ruleKey(s profile.Syscall) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // a Syscall always encodes
	}
	return string(b)
}

// condRules copies rules, dropping nothing: they start unconditional.
func condRules(rules []profile.Syscall) []profile.Syscall {
	out := make([]profile.Syscall, len(rules))
	for i, r := range rules {
		out[i] = copyRule(r)
	}
	return out
}

// multisetMinus returns the rules of a that b lacks, counting repeats.
func multisetMinus(a, b []profile.Syscall) []profile.Syscall {
	count := map[string]int{}
	for _, r := range b {
		count[ruleKey(r)]++
	}
	var out []profile.Syscall
	for _, r := range a {
		k := ruleKey(r)
		if count[k] > 0 {
			count[k]--
			continue
		}
		out = append(out, copyRule(r))
	}
	return out
}

// markExcluded sets an exclusion on the first rule equal to r (conditions
// aside) that has not been excluded in the same way yet.
func markExcluded(rules []profile.Syscall, r profile.Syscall, set func(*profile.Filter)) error {
	k := ruleKey(r)
	for i := range rules {
		c := copyRule(rules[i])
		c.Includes, c.Excludes = nil, nil
		if ruleKey(c) != k {
			continue
		}
		if rules[i].Excludes == nil {
			rules[i].Excludes = &profile.Filter{}
		}
		before := ruleKey(rules[i])
		set(rules[i].Excludes)
		if ruleKey(rules[i]) != before {
			return nil
		}
	}
	return fmt.Errorf("a rule disappears that no earlier run had: %s", k)
}

// mergeArches joins the per-GOARCH rule lists: the n-th copy of a rule found
// on every GOARCH is kept once, unconditionally on architecture; one found on
// some gets includes.arches.
func mergeArches(goarches []string, perArch map[string][]profile.Syscall) []profile.Syscall {
	var out []profile.Syscall
	var keys []string
	where := map[string][]string{}
	for _, g := range goarches {
		n := map[string]int{}
		for _, r := range perArch[g] {
			k := ruleKey(r)
			n[k]++
			mk := fmt.Sprintf("%s#%d", k, n[k])
			if _, ok := where[mk]; !ok {
				keys = append(keys, mk)
				out = append(out, r)
			}
			where[mk] = append(where[mk], g)
		}
	}
	for i, mk := range keys {
		if len(where[mk]) == len(goarches) {
			continue
		}
		if out[i].Includes == nil {
			out[i].Includes = &profile.Filter{}
		}
		out[i].Includes.Arches = where[mk]
	}
	return out
}

// verify checks that resolving the derived profile for a request's inputs
// gives containerd's own output: same default, same ABIs, same rules.
func verify(derived *profile.Profile, req request, want *profile.Profile) error {
	env := profile.Env{Arch: req.GOARCH, Caps: req.Caps, KernelVersion: kernelString(*req.Kernel)}
	got, err := profile.Resolve(derived, env)
	if err != nil {
		return fmt.Errorf("verify %s: %w", runKey(req), err)
	}
	if got.DefaultAction != want.DefaultAction || !sameUint(got.DefaultErrnoRet, want.DefaultErrnoRet) {
		return fmt.Errorf("verify %s: default action differs", runKey(req))
	}
	if !sameArches(got.Architectures, want.Architectures, req.GOARCH) {
		return fmt.Errorf("verify %s: architectures %v, containerd gives %v", runKey(req), got.Architectures, want.Architectures)
	}
	if extra, missing := multisetMinus(got.Syscalls, want.Syscalls), multisetMinus(want.Syscalls, got.Syscalls); len(extra)+len(missing) > 0 {
		return fmt.Errorf("verify %s: the derived conditions give %d rules containerd does not and miss %d of its rules (first: %v %v)",
			runKey(req), len(extra), len(missing), firstKey(extra), firstKey(missing))
	}
	return nil
}

func firstKey(rs []profile.Syscall) string {
	if len(rs) == 0 {
		return "-"
	}
	return ruleKey(rs[0])
}

// sameArches compares two architecture lists as sets of ABIs; an empty
// list means the native one alone.
func sameArches(a, b []string, goarch string) bool {
	set := func(l []string) map[*syscalls.Arch]bool {
		m := map[*syscalls.Arch]bool{}
		if len(l) == 0 {
			m[syscalls.MustGet(goarch)] = true
		}
		for _, n := range l {
			if x, ok := syscalls.Get(n); ok {
				m[x] = true
			}
		}
		return m
	}
	sa, sb := set(a), set(b)
	if len(sa) != len(sb) {
		return false
	}
	for k := range sa {
		if !sb[k] {
			return false
		}
	}
	return true
}

// copyRule returns an independent copy of r.
func copyRule(r profile.Syscall) profile.Syscall {
	return (&profile.Profile{Syscalls: []profile.Syscall{r}}).DeepCopy().Syscalls[0]
}
