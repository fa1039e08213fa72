package profile

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Env is what Docker's conditional rules are resolved against: the native
// architecture of the host (any spelling syscalls.Get or Docker accepts:
// "x86_64", "amd64", "SCMP_ARCH_X86_64"), the container's (bounding)
// capabilities, and the kernel release ("6.1.0-18-amd64"; only the first two
// numbers count, as in Docker).
type Env struct {
	Arch          string
	Caps          []string
	KernelVersion string
}

// DefaultCaps is the capability set Docker and containerd give a container
// by default. Taken from containerd v2.4.2 pkg/oci/spec.go defaultUnixCaps
// (moby's oci/caps default is the same list).
var DefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD",
	"CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP",
	"CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

// DefaultEnv is the environment of a default container on this host: arch
// (the host's native architecture when ""), DefaultCaps, and the running
// kernel's release (empty where uname is unavailable).
func DefaultEnv(arch string) Env {
	if arch == "" {
		arch = hostArch()
	}
	return Env{Arch: arch, Caps: slices.Clone(DefaultCaps), KernelVersion: kernelRelease()}
}

func hostArch() string {
	if a, ok := dockerArch(runtime.GOARCH); ok {
		return a.Name
	}
	return runtime.GOARCH
}

// dockerArch maps the architecture names Docker uses in includes.arches and
// excludes.arches (its libseccomp-ish "native" names: amd64, arm64, x86,
// mipsle, mips3l64n32, ...), and every spelling syscalls.Get accepts.
func dockerArch(name string) (*syscalls.Arch, bool) {
	switch strings.ToLower(name) {
	case "mipsle":
		name = "mipsel"
	case "mips3l64n32", "mips64p32le":
		name = "mipsel64n32"
	case "mips64p32":
		name = "mips64n32"
	}
	return syscalls.Get(name)
}

// Resolve applies Docker's conditional parts of p for env and returns a
// plain OCI profile (p is not modified):
//   - a rule is dropped when its excludes match: env has any of
//     excludes.caps, env's arch is one of excludes.arches, or the kernel is
//     at least excludes.minKernel;
//   - a rule is kept only when its includes match: env has all of
//     includes.caps, env's arch is one of includes.arches (when listed), and
//     the kernel is at least includes.minKernel;
//   - when Architectures is empty, the archMap entry for env's arch gives
//     Architectures (that arch, then its subArchitectures); no entry leaves
//     it empty (the native ABI only);
//   - the legacy "name" joins "names".
//
// This follows moby/profiles/seccomp v0.2.4 setupSeccomp. Architectures are
// compared as architectures, not strings, so "amd64" and "x86_64" match.
// The output has no Includes, Excludes, Name or ArchMap.
func Resolve(p *Profile, env Env) (*Profile, error) {
	if p == nil {
		return nil, fmt.Errorf("resolve profile: nil profile")
	}
	archName := env.Arch
	if archName == "" {
		archName = hostArch()
	}
	arch, ok := dockerArch(archName)
	if !ok {
		return nil, fmt.Errorf("resolve profile: unknown environment architecture %q", env.Arch)
	}
	if len(p.Architectures) > 0 && len(p.ArchMap) > 0 {
		return nil, fmt.Errorf("resolve profile: both architectures and archMap are set")
	}
	caps := map[string]bool{}
	for _, c := range env.Caps {
		caps[NormCap(c)] = true
	}
	out := p.DeepCopy()
	out.ArchMap = nil
	if len(out.Architectures) == 0 {
		for _, m := range p.ArchMap {
			if a, ok := syscalls.Get(m.Arch); ok && a == arch {
				out.Architectures = append([]string{m.Arch}, m.SubArches...)
				break
			}
		}
	}
	out.Architectures = nilIfEmpty(out.Architectures)
	out.Syscalls = nil
	for i, s := range p.DeepCopy().Syscalls {
		field := fmt.Sprintf("syscalls[%d]", i)
		keep, err := applies(s, arch, caps, env.KernelVersion)
		if err != nil {
			return nil, fmt.Errorf("resolve profile: %s: %w", field, err)
		}
		if !keep {
			continue
		}
		if s.Name != "" {
			if len(s.Names) > 0 {
				return nil, fmt.Errorf("resolve profile: %s: both name and names are set", field)
			}
			s.Names = []string{s.Name}
			s.Name = ""
		}
		s.Includes, s.Excludes = nil, nil
		out.Syscalls = append(out.Syscalls, s)
	}
	return out, nil
}

// NormCap spells a capability as the profiles do: CAP_SYS_ADMIN, from
// SYS_ADMIN, cap_sys_admin or with surrounding spaces.
func NormCap(c string) string {
	c = strings.ToUpper(strings.TrimSpace(c))
	if !strings.HasPrefix(c, "CAP_") {
		c = "CAP_" + c
	}
	return c
}

func archIn(list []string, arch *syscalls.Arch) bool {
	for _, n := range list {
		if a, ok := dockerArch(n); ok && a == arch {
			return true
		}
	}
	return false
}

func applies(s Syscall, arch *syscalls.Arch, caps map[string]bool, kernel string) (bool, error) {
	if ex := s.Excludes; ex != nil {
		if archIn(ex.Arches, arch) {
			return false, nil
		}
		for _, c := range ex.Caps {
			if caps[NormCap(c)] {
				return false, nil
			}
		}
		if ex.MinKernel != "" {
			ge, err := kernelAtLeast(kernel, ex.MinKernel)
			if err != nil {
				return false, fmt.Errorf("excludes.minKernel: %w", err)
			}
			if ge {
				return false, nil
			}
		}
	}
	if in := s.Includes; in != nil {
		if len(in.Arches) > 0 && !archIn(in.Arches, arch) {
			return false, nil
		}
		for _, c := range in.Caps {
			if !caps[NormCap(c)] {
				return false, nil
			}
		}
		if in.MinKernel != "" {
			ge, err := kernelAtLeast(kernel, in.MinKernel)
			if err != nil {
				return false, fmt.Errorf("includes.minKernel: %w", err)
			}
			if !ge {
				return false, nil
			}
		}
	}
	return true, nil
}

// parseMinKernel reads Docker's "<kernel>.<major>" (each 0..255, not 0.0).
func parseMinKernel(s string) (uint64, uint64, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 2 {
		return 0, 0, fmt.Errorf("kernel version %q: want <kernel>.<major>, e.g. 4.8", s)
	}
	k, err1 := strconv.ParseUint(parts[0], 10, 8)
	m, err2 := strconv.ParseUint(parts[1], 10, 8)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("kernel version %q: want <kernel>.<major> with numbers 0..255", s)
	}
	if k == 0 && m == 0 {
		return 0, 0, fmt.Errorf("kernel version %q: cannot be 0.0", s)
	}
	return k, m, nil
}

// parseRelease reads the first two numbers of a kernel release, as Docker
// does ("6.1.0-18-amd64" and "6.1-rc5" are both 6.1).
func parseRelease(r string) (uint64, uint64, error) {
	var k, m uint64
	if _, err := fmt.Sscanf(r, "%d.%d", &k, &m); err != nil {
		return 0, 0, fmt.Errorf("kernel release %q: want <kernel>.<major>[...]", r)
	}
	return k, m, nil
}

func kernelAtLeast(release, min string) (bool, error) {
	mk, mm, err := parseMinKernel(min)
	if err != nil {
		return false, err
	}
	if release == "" {
		return false, fmt.Errorf("needs the kernel version, but the environment has none")
	}
	k, m, err := parseRelease(release)
	if err != nil {
		return false, err
	}
	return k > mk || k == mk && m >= mm, nil
}
