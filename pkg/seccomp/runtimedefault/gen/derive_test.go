package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// fakeContainerd stands for containerd's DefaultProfile: a function of
// GOARCH, capabilities and kernel version shaped like the real one.
// bothCaps adds a rule only when two capabilities are both present, a shape
// per-capability conditions cannot express.
func fakeContainerd(bothCaps bool) callFn {
	return func(reqs []request) ([]response, error) {
		var out []response
		for _, r := range reqs {
			allow := func(names ...string) profile.Syscall { return profile.Syscall{Names: names, Action: profile.ActAllow} }
			p := profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{allow("read", "write")}}
			switch r.GOARCH {
			case "amd64":
				p.Architectures = []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}
				p.Syscalls = append(p.Syscalls, allow("arch_prctl"))
			case "arm64":
				p.Architectures = []string{"SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"}
				p.Syscalls = append(p.Syscalls, allow("cacheflush"))
			}
			k := *r.Kernel
			if k[0] > 4 || k[0] == 4 && k[1] >= 8 {
				p.Syscalls = append(p.Syscalls, allow("ptrace"))
			}
			if slices.Contains(r.Caps, "CAP_SYS_ADMIN") {
				p.Syscalls = append(p.Syscalls, allow("mount"))
			} else {
				p.Syscalls = append(p.Syscalls, profile.Syscall{Names: []string{"clone"}, Action: profile.ActAllow,
					Args: []profile.Arg{{Index: 0, Value: 0x7e020000, Op: profile.OpMaskedEqual}}})
			}
			if bothCaps && slices.Contains(r.Caps, "CAP_BPF") && slices.Contains(r.Caps, "CAP_PERFMON") {
				p.Syscalls = append(p.Syscalls, allow("bpf"))
			}
			b, err := json.Marshal(p)
			if err != nil {
				return nil, err
			}
			out = append(out, response{request: r, Profile: b, Thresholds: [][2]uint64{{4, 8}}})
		}
		return out, nil
	}
}

func TestDeriveContainerd(t *testing.T) {
	info := hookInfo{caps: []string{"CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON"}}
	p, arches, err := deriveContainerd(fakeContainerd(false), info)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(arches, "amd64") || !slices.Contains(arches, "arm64") {
		t.Errorf("arches %v", arches)
	}
	conds := map[string]string{}
	for _, s := range p.Syscalls {
		b, _ := json.Marshal(struct{ In, Ex *profile.Filter }{s.Includes, s.Excludes})
		conds[strings.Join(s.Names, ",")] = string(b)
	}
	for names, want := range map[string]string{
		"read,write": `{"In":null,"Ex":null}`,
		"arch_prctl": `{"In":{"arches":["amd64"]},"Ex":null}`,
		"cacheflush": `{"In":{"arches":["arm64"]},"Ex":null}`,
		"ptrace":     `{"In":{"minKernel":"4.8"},"Ex":null}`,
		"mount":      `{"In":{"caps":["CAP_SYS_ADMIN"]},"Ex":null}`,
		"clone":      `{"In":null,"Ex":{"caps":["CAP_SYS_ADMIN"]}}`,
	} {
		if conds[names] != want {
			t.Errorf("%s: conditions %s, want %s", names, conds[names], want)
		}
	}
	if m := p.ArchMap[1]; m.Arch != "SCMP_ARCH_AARCH64" || !slices.Equal(m.SubArches, []string{"SCMP_ARCH_ARM"}) {
		t.Errorf("arm64 archMap %+v", m)
	}
}

// A rule that needs two capabilities together cannot be written per
// capability: the check against the runs must refuse the result.
func TestDeriveContainerdRefusesWhatItCannotExpress(t *testing.T) {
	info := hookInfo{caps: []string{"CAP_SYS_ADMIN", "CAP_BPF", "CAP_PERFMON"}}
	if _, _, err := deriveContainerd(fakeContainerd(true), info); err == nil || !strings.Contains(err.Error(), "verify") {
		t.Errorf("error %v, want a verification failure", err)
	}
}
