package profile

import (
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

func dockerish() *Profile {
	return &Profile{
		DefaultAction: ActErrno,
		ArchMap: []ArchMap{
			{Arch: "SCMP_ARCH_X86_64", SubArches: []string{"SCMP_ARCH_X86", "SCMP_ARCH_X32"}},
			{Arch: "SCMP_ARCH_AARCH64", SubArches: []string{"SCMP_ARCH_ARM"}},
		},
		Syscalls: []Syscall{
			{Names: []string{"read"}, Action: ActAllow, Comment: "always"},
			{Name: "write", Action: ActAllow},
			{Names: []string{"mount"}, Action: ActAllow, Includes: &Filter{Caps: []string{"CAP_SYS_ADMIN"}}},
			{Names: []string{"arch_prctl"}, Action: ActAllow, Includes: &Filter{Arches: []string{"amd64", "x32"}}},
			{Names: []string{"ptrace"}, Action: ActAllow, Includes: &Filter{MinKernel: "4.8"}},
			{Names: []string{"clone"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 0x7e020000, Op: OpMaskedEqual}},
				Excludes: &Filter{Caps: []string{"CAP_SYS_ADMIN"}, Arches: []string{"s390", "s390x"}}},
			{Names: []string{"bpf"}, Action: ActAllow, Includes: &Filter{Caps: []string{"CAP_SYS_ADMIN", "CAP_BPF"}}},
			{Names: []string{"io_uring_setup"}, Action: ActAllow, Excludes: &Filter{MinKernel: "6.1"}},
		},
	}
}

func ruleNames(p *Profile) []string {
	var out []string
	for _, s := range p.Syscalls {
		out = append(out, s.Names...)
	}
	return out
}

func TestResolve(t *testing.T) {
	tests := []struct {
		name      string
		env       Env
		wantArchs []string
		want      []string
	}{
		{"default container on amd64, old kernel", Env{Arch: "amd64", Caps: DefaultCaps, KernelVersion: "4.4.0-21-generic"},
			[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
			[]string{"read", "write", "arch_prctl", "clone", "io_uring_setup"}},
		{"new kernel, libseccomp arch spelling", Env{Arch: "SCMP_ARCH_X86_64", Caps: DefaultCaps, KernelVersion: "6.1.0-18-amd64"},
			[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
			[]string{"read", "write", "arch_prctl", "ptrace", "clone"}},
		{"kernel equal to minKernel counts, suffixes ignored", Env{Arch: "x86_64", KernelVersion: "4.8-rc5"},
			[]string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
			[]string{"read", "write", "arch_prctl", "ptrace", "clone", "io_uring_setup"}},
		{"CAP_SYS_ADMIN on arm64 (caps without prefix, any case)", Env{Arch: "arm64", Caps: []string{"sys_admin"}, KernelVersion: "5.10"},
			[]string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
			[]string{"read", "write", "mount", "ptrace", "io_uring_setup"}},
		{"all caps of a multi-cap include", Env{Arch: "aarch64", Caps: []string{"CAP_SYS_ADMIN", "CAP_BPF"}, KernelVersion: "3.10"},
			[]string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"},
			[]string{"read", "write", "mount", "bpf", "io_uring_setup"}},
		{"no archMap entry: native only", Env{Arch: "s390x", KernelVersion: "3.10"},
			nil,
			[]string{"read", "write", "io_uring_setup"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := dockerish()
			orig := in.DeepCopy()
			r, err := Resolve(in, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(in, orig) {
				t.Error("Resolve modified its input")
			}
			if !reflect.DeepEqual(r.Architectures, tt.wantArchs) {
				t.Errorf("architectures = %v, want %v", r.Architectures, tt.wantArchs)
			}
			if got := ruleNames(r); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rules = %v, want %v", got, tt.want)
			}
			if r.ArchMap != nil {
				t.Error("archMap kept")
			}
			for i, s := range r.Syscalls {
				if s.Name != "" || s.Includes != nil || s.Excludes != nil {
					t.Errorf("syscalls[%d] keeps Docker-only fields: %+v", i, s)
				}
			}
			if r.Syscalls[0].Comment != "always" {
				t.Error("comment dropped")
			}
		})
	}
}

func TestResolveErrors(t *testing.T) {
	p := dockerish()
	if _, err := Resolve(p, Env{Arch: "vax"}); err == nil || err.Error() != `resolve profile: unknown environment architecture "vax"` {
		t.Errorf("unknown arch: %v", err)
	}
	if _, err := Resolve(p, Env{Arch: "amd64"}); err == nil || err.Error() != "resolve profile: syscalls[4]: includes.minKernel: needs the kernel version, but the environment has none" {
		t.Errorf("no kernel: %v", err)
	}
	p.Syscalls[4].Includes.MinKernel = "4.x"
	if _, err := Resolve(p, Env{Arch: "amd64", KernelVersion: "6.1"}); err == nil || !strings.Contains(err.Error(), `syscalls[4]: includes.minKernel: kernel version "4.x"`) {
		t.Errorf("bad minKernel: %v", err)
	}
	p = dockerish()
	p.Syscalls[1].Names = []string{"pwrite64"}
	if _, err := Resolve(p, Env{Arch: "amd64", KernelVersion: "6.1"}); err == nil || err.Error() != "resolve profile: syscalls[1]: both name and names are set" {
		t.Errorf("name and names: %v", err)
	}
	p = dockerish()
	p.Architectures = []string{"SCMP_ARCH_X86_64"}
	if _, err := Resolve(p, Env{Arch: "amd64", KernelVersion: "6.1"}); err == nil || err.Error() != "resolve profile: both architectures and archMap are set" {
		t.Errorf("architectures and archMap: %v", err)
	}
	if _, err := Resolve(nil, Env{}); err == nil {
		t.Error("Resolve(nil) succeeded")
	}
}

func TestResolveKeepsArchitectures(t *testing.T) {
	p := &Profile{DefaultAction: ActAllow, Architectures: []string{"SCMP_ARCH_X86_64"}}
	r, err := Resolve(p, Env{Arch: "arm64"})
	if err != nil || !reflect.DeepEqual(r.Architectures, []string{"SCMP_ARCH_X86_64"}) || r.Syscalls != nil {
		t.Errorf("Resolve = %+v, %v", r, err)
	}
}

func TestDefaultEnv(t *testing.T) {
	e := DefaultEnv("arm64")
	if e.Arch != "arm64" || !slices.Equal(e.Caps, DefaultCaps) {
		t.Errorf("DefaultEnv(arm64) = %+v", e)
	}
	e.Caps[0] = "CAP_SYS_ADMIN"
	if DefaultCaps[0] != "CAP_CHOWN" {
		t.Error("DefaultEnv shares DefaultCaps")
	}
	host := DefaultEnv("")
	if _, ok := dockerArch(host.Arch); !ok {
		t.Errorf("host arch %q unknown", host.Arch)
	}
	if _, err := os.Stat("/proc/sys/kernel/osrelease"); err == nil {
		want, _ := os.ReadFile("/proc/sys/kernel/osrelease")
		if host.KernelVersion != strings.TrimSpace(string(want)) {
			t.Errorf("KernelVersion = %q, want %q", host.KernelVersion, want)
		}
	}
}

// Docker's real profile resolved for a default amd64 container: what
// Docker's own setupSeccomp keeps, spot-checked.
func TestResolveDockerDefault(t *testing.T) {
	d, err := runtimedefault.Get("docker@v0.2.4")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(d.Data())
	if err != nil {
		t.Fatal(err)
	}
	r, err := Resolve(p, Env{Arch: "amd64", Caps: DefaultCaps, KernelVersion: "6.1.0"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r.Architectures, []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"}) {
		t.Errorf("architectures = %v", r.Architectures)
	}
	names := ruleNames(r)
	for _, n := range []string{"read", "arch_prctl", "clone", "ptrace"} {
		if !slices.Contains(names, n) {
			t.Errorf("%s missing after resolve", n)
		}
	}
	for _, n := range []string{"mount", "bpf", "s390_pci_mmio_read", "sync_file_range2", "reboot"} {
		if slices.Contains(names, n) {
			t.Errorf("%s kept after resolve for a default amd64 container", n)
		}
	}
}
