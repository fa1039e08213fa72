package bpf

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// bytesrc hands out fuzz bytes; once they run out it hands out zeros.
type bytesrc struct{ b []byte }

func (s *bytesrc) byte() byte {
	if len(s.b) == 0 {
		return 0
	}
	c := s.b[0]
	s.b = s.b[1:]
	return c
}

func (s *bytesrc) intn(n int) int {
	return int(binary.LittleEndian.Uint16([]byte{s.byte(), s.byte()})) % n
}

// value draws a comparison value: mostly edge values, sometimes any.
func (s *bytesrc) value() uint64 {
	edges := []uint64{0, 1, 2, 3, 0xff, 1<<32 - 1, 1 << 32, 1<<32 + 1, 1 << 31, 1 << 63, 1<<63 - 1, ^uint64(0), ^uint64(0) - 1, 0xffff_ffff_0000_0000}
	c := s.byte()
	if int(c) < 2*len(edges) {
		return edges[int(c)%len(edges)]
	}
	var b [8]byte
	for i := range b {
		b[i] = s.byte()
	}
	return binary.LittleEndian.Uint64(b[:])
}

var (
	genActions = []profile.Action{profile.ActAllow, profile.ActAllow, profile.ActAllow, profile.ActErrno, profile.ActErrno,
		profile.ActLog, profile.ActKillProcess, profile.ActKill, profile.ActKillThread, profile.ActTrap, profile.ActTrace, profile.ActNotify}
	genArches = []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}
	genNames  = syscalls.Names(syscalls.Family("x86_64")...)
)

func (s *bytesrc) action() (profile.Action, *uint) {
	a := genActions[s.intn(len(genActions))]
	if (a == profile.ActErrno || a == profile.ActTrace) && s.byte()%2 == 0 {
		v := uint(s.intn(4096))
		return a, &v
	}
	return a, nil
}

// genProfile decodes bytes into a random but valid, conflict-free profile
// for the x86_64 family: names from its tables, any actions, ops and values.
func genProfile(data []byte) *profile.Profile { return genProfileN(data, 40) }

// genProfileN is genProfile with fewer than maxRules rules.
func genProfileN(data []byte, maxRules int) *profile.Profile {
	s := &bytesrc{b: data}
	p := &profile.Profile{}
	p.DefaultAction, p.DefaultErrnoRet = s.action()
	archBits := s.byte()
	for i, a := range genArches {
		if archBits&(1<<i) != 0 {
			p.Architectures = append(p.Architectures, a)
		}
	}
	type verdict struct {
		a profile.Action
		d uint
	}
	owner := map[string]verdict{}
	nrules := s.intn(maxRules)
	for r := 0; r < nrules; r++ {
		rule := profile.Syscall{}
		rule.Action, rule.ErrnoRet = s.action()
		v := verdict{rule.Action, 1}
		if rule.ErrnoRet != nil {
			v.d = *rule.ErrnoRet
		}
		for n := 1 + s.intn(6); n > 0; n-- {
			name := genNames[s.intn(len(genNames))]
			if o, ok := owner[name]; ok && o != v {
				continue // would conflict
			}
			owner[name] = v
			rule.Names = append(rule.Names, name)
		}
		for n := s.intn(4); n > 0 && s.byte()%3 != 0; n-- {
			rule.Args = append(rule.Args, profile.Arg{
				Index: uint(s.intn(6)), Op: profile.KnownOperators[s.intn(len(profile.KnownOperators))],
				Value: s.value(), ValueTwo: s.value(),
			})
		}
		if len(rule.Names) > 0 {
			p.Syscalls = append(p.Syscalls, rule)
		}
	}
	return p
}

// checkRandom compiles a generated profile and compares it with Evaluate.
// Numbers that share a syscall number under different names (aliases) may
// still conflict; such profiles are skipped.
func checkRandom(t *testing.T, data []byte, sample bool) {
	checkRandomOn(t, genProfile(data), "x86_64", sample)
}

// onAarch64 maps a generated x86_64-family profile to the aarch64 family
// (names it lacks are skipped there, like any unknown name).
func onAarch64(p *profile.Profile) *profile.Profile {
	q := p.DeepCopy()
	q.Architectures = nil
	for _, a := range p.Architectures {
		switch a {
		case "SCMP_ARCH_X86_64":
			q.Architectures = append(q.Architectures, "SCMP_ARCH_AARCH64")
		case "SCMP_ARCH_X86":
			q.Architectures = append(q.Architectures, "SCMP_ARCH_ARM")
		}
	}
	if len(p.Architectures) > 0 && len(q.Architectures) == 0 {
		q.Architectures = []string{"SCMP_ARCH_ARM"}
	}
	return q
}

func checkRandomOn(t *testing.T, p *profile.Profile, arch string, sample bool) {
	prog, err := Compile(p, Options{Arch: arch})
	if err != nil {
		if strings.Contains(err.Error(), "conflicting rules") {
			return
		}
		t.Fatalf("Compile: %v", err)
	}
	var names map[string]bool
	if sample {
		names = map[string]bool{}
		for _, r := range p.Syscalls {
			for _, n := range r.Names {
				names[n] = true
			}
		}
		names["read"], names["getpid"] = true, true
	}
	vecs := argVectors(p)
	if sample && len(vecs) > 12 {
		vecs = vecs[:12]
	}
	if m := mismatch(t, p, prog, names, vecs); m != "" {
		t.Fatalf("profile %+v:\n%s", p, m)
	}
}

// TestRandomProfiles is the property test: for random profiles the program
// agrees with Evaluate on every syscall number of every ABI of the family
// (plus numbers past the tables and in the x32 range) for argument vectors
// around the values the profile compares with.
func TestRandomProfiles(t *testing.T) {
	n := 60
	if testing.Short() {
		n = 10
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < n; i++ {
		data := make([]byte, 64+rng.IntN(1200))
		for j := range data {
			data[j] = byte(rng.Uint32())
		}
		checkRandom(t, data, false)
		if i%3 == 0 {
			checkRandomOn(t, onAarch64(genProfile(data)), "aarch64", false)
		}
	}
}

func FuzzCompile(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03\x00\x07\x10\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Small profiles (up to 7 rules from 160 bytes) keep each run
		// cheap: the oracle evaluates every sampled syscall of three ABIs
		// for every argument vector, and its cost grows with the rules
		// times the names. Large profiles are TestRandomProfiles' part.
		if len(data) > 160 {
			data = data[:160]
		}
		checkRandomOn(t, genProfileN(data, 8), "x86_64", true)
	})
}
