package runtimedefault_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// resolved returns the default ref resolved for arch, caps and kernel.
func resolved(t *testing.T, ref, arch string, caps []string, kernel string) *profile.Profile {
	t.Helper()
	d, err := runtimedefault.Get(ref)
	if err != nil {
		t.Fatal(err)
	}
	p, err := profile.Parse(d.Data())
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	r, err := profile.Resolve(p, profile.Env{Arch: arch, Caps: caps, KernelVersion: kernel})
	if err != nil {
		t.Fatalf("%s: %v", ref, err)
	}
	return r
}

// verdict is what r does with syscall name (args zero) on arch's native ABI.
func verdict(t *testing.T, r *profile.Profile, arch, name string, args [6]uint64) (profile.Action, uint) {
	t.Helper()
	a := syscalls.MustGet(arch)
	nr, ok := a.Lookup(name)
	if !ok {
		t.Fatalf("%s has no %s", arch, name)
	}
	act, data, err := profile.Evaluate(r, a, nr, args)
	if err != nil {
		t.Fatal(err)
	}
	return act, data
}

var withAdmin = append(slices.Clone(profile.DefaultCaps), "CAP_SYS_ADMIN")

func TestEveryDefaultParsesAndResolves(t *testing.T) {
	all := runtimedefault.All()
	if len(all) < 8 {
		t.Fatalf("%d defaults", len(all))
	}
	for _, d := range all {
		for _, arch := range d.Arches {
			if _, ok := syscalls.Get(arch); !ok {
				continue // Docker's archMap names mips64n32 etc.
			}
			r := resolved(t, d.Ref(), arch, profile.DefaultCaps, "6.1")
			if err := profile.Validate(r).Err(); err != nil {
				t.Errorf("%s on %s: %v", d.Ref(), arch, err)
			}
		}
	}
}

func TestDockerUnshareNeedsSysAdmin(t *testing.T) {
	for _, v := range runtimedefault.Versions(runtimedefault.Docker) {
		ref := "docker@" + v
		if act, errno := verdict(t, resolved(t, ref, "amd64", profile.DefaultCaps, "6.1"), "amd64", "unshare", [6]uint64{}); act != profile.ActErrno || errno != 1 {
			t.Errorf("%s: unshare without CAP_SYS_ADMIN: %s %d, want EPERM", ref, act, errno)
		}
		if act, _ := verdict(t, resolved(t, ref, "amd64", withAdmin, "6.1"), "amd64", "unshare", [6]uint64{}); act != profile.ActAllow {
			t.Errorf("%s: unshare with CAP_SYS_ADMIN: %s", ref, act)
		}
	}
}

func TestContainerdCapsKernelAndArch(t *testing.T) {
	for _, v := range runtimedefault.Versions(runtimedefault.Containerd) {
		ref := "containerd@" + v
		def := resolved(t, ref, "amd64", profile.DefaultCaps, "6.1")
		// clone with CLONE_NEWUSER: refused without CAP_SYS_ADMIN, allowed with.
		newuser := [6]uint64{0x10000000}
		if act, _ := verdict(t, def, "amd64", "clone", newuser); act != profile.ActErrno {
			t.Errorf("%s: clone(CLONE_NEWUSER) without CAP_SYS_ADMIN: %s", ref, act)
		}
		if act, _ := verdict(t, def, "amd64", "clone", [6]uint64{}); act != profile.ActAllow {
			t.Errorf("%s: plain clone: %s", ref, act)
		}
		if act, errno := verdict(t, def, "amd64", "clone3", [6]uint64{}); act != profile.ActErrno || errno != 38 {
			t.Errorf("%s: clone3: %s %d, want ENOSYS", ref, act, errno)
		}
		admin := resolved(t, ref, "amd64", withAdmin, "6.1")
		if act, _ := verdict(t, admin, "amd64", "clone", newuser); act != profile.ActAllow {
			t.Errorf("%s: clone(CLONE_NEWUSER) with CAP_SYS_ADMIN: %s", ref, act)
		}
		// ptrace from kernel 4.8 on.
		if act, _ := verdict(t, def, "amd64", "ptrace", [6]uint64{}); act != profile.ActAllow {
			t.Errorf("%s: ptrace on 6.1: %s", ref, act)
		}
		if act, _ := verdict(t, resolved(t, ref, "amd64", profile.DefaultCaps, "4.4"), "amd64", "ptrace", [6]uint64{}); act == profile.ActAllow {
			t.Errorf("%s: ptrace allowed on 4.4", ref)
		}
		// arch_prctl is amd64's; cacheflush is allowed on arm64 hosts only.
		if act, _ := verdict(t, def, "amd64", "arch_prctl", [6]uint64{}); act != profile.ActAllow {
			t.Errorf("%s: arch_prctl on amd64: %s", ref, act)
		}
		arm := resolved(t, ref, "arm64", profile.DefaultCaps, "6.1")
		if !slices.Equal(arm.Architectures, []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}) {
			t.Errorf("%s: arm64 architectures %v", ref, arm.Architectures)
		}
		armABI := syscalls.MustGet("arm")
		nr, _ := armABI.Lookup("cacheflush")
		if act, _, _ := profile.Evaluate(arm, armABI, nr, [6]uint64{}); act != profile.ActAllow {
			t.Errorf("%s: cacheflush on an arm64 host: %s", ref, act)
		}
		if slices.ContainsFunc(def.Syscalls, func(s profile.Syscall) bool { return slices.Contains(s.Names, "cacheflush") }) {
			t.Errorf("%s: cacheflush allowed on amd64", ref)
		}
		// s390x tests clone's flags in argument 1.
		s390 := resolved(t, ref, "s390x", profile.DefaultCaps, "6.1")
		if act, _ := verdict(t, s390, "s390x", "clone", [6]uint64{0, 0x10000000}); act != profile.ActErrno {
			t.Errorf("%s: s390x clone(0, CLONE_NEWUSER): %s", ref, act)
		}
	}
}

// Versions are held where upstream's defaults differ, and one per release
// line a node may run (Nearest picks a node's own line), so two versions of
// one line must differ; two lines may build the same default.
func TestVersionsDiffer(t *testing.T) {
	sock := func(ref string, family uint64) profile.Action {
		act, _ := verdict(t, resolved(t, ref, "amd64", profile.DefaultCaps, "6.1"), "amd64", "socket", [6]uint64{family})
		return act
	}
	const afIPX, afVSOCK = 4, 40
	if sock("containerd@v1.6.20", afVSOCK) != profile.ActAllow || sock("containerd@v2.4.2", afVSOCK) != profile.ActErrno {
		t.Error("containerd 2.4.2 refuses AF_VSOCK sockets, 1.6.20 did not")
	}
	if sock("docker@v0.2.4", afIPX) != profile.ActAllow || sock("docker@v0.3.0", afIPX) != profile.ActErrno {
		t.Error("moby/profiles v0.3.0 allows listed socket families only (not AF_IPX), v0.2.4 refused only some")
	}
	for _, rt := range runtimedefault.Runtimes() {
		vs := runtimedefault.Versions(rt)
		for i := 1; i < len(vs); i++ {
			a, _ := runtimedefault.Get(rt + "@" + vs[i-1])
			b, _ := runtimedefault.Get(rt + "@" + vs[i])
			if sameLine(vs[i-1], vs[i]) && string(a.Data()) == string(b.Data()) {
				t.Errorf("%s: %s and %s, one release line, hold the same data", rt, vs[i-1], vs[i])
			}
		}
	}
}

func TestCRIOErrnos(t *testing.T) {
	r := resolved(t, "crio", "amd64", profile.DefaultCaps, "6.1")
	// cachestat (Linux 6.5) is newer than containers/common 0.50.1's list.
	if act, errno := verdict(t, r, "amd64", "cachestat", [6]uint64{}); act != profile.ActErrno || errno != 38 {
		t.Errorf("crio: an unlisted syscall: %s %d, want ENOSYS (defaultErrno)", act, errno)
	}
	if act, errno := verdict(t, r, "amd64", "kexec_load", [6]uint64{}); act != profile.ActErrno || errno != 1 {
		t.Errorf("crio: kexec_load, denied by name: %s %d, want EPERM", act, errno)
	}
}

func TestGet(t *testing.T) {
	for ref, want := range map[string]string{
		"containerd": "containerd@v2.4.2", "containerd@1.6.20": "containerd@v1.6.20",
		"docker@v0.2.4": "docker@v0.2.4", "crio": "crio@v0.50.1",
	} {
		d, err := runtimedefault.Get(ref)
		if err != nil || d.Ref() != want {
			t.Errorf("Get(%q) = %s, %v; want %s", ref, d.Ref(), err, want)
		}
	}
	for _, bad := range []string{"podman", "containerd@9.9", ""} {
		if _, err := runtimedefault.Get(bad); err == nil {
			t.Errorf("Get(%q): no error", bad)
		}
	}
}

// sameLine: "v2.3.1" and "v2.3.7" are one major.minor release line.
func sameLine(a, b string) bool {
	line := func(v string) string {
		p := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
		return strings.Join(p[:min(2, len(p))], ".")
	}
	return line(a) == line(b)
}
