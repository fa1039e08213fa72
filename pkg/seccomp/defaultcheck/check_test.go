package defaultcheck

import (
	"slices"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// recorded is what seccompctl record writes: deny by default, the used
// names allowed without argument conditions, the x86_64 family.
func recorded(names ...string) *profile.Profile {
	return &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32"},
		Syscalls:      []profile.Syscall{{Names: names, Action: profile.ActAllow}},
	}
}

var amd64 = Options{Arches: []string{"amd64"}, Kernel: "6.1.0"}

func find(t *testing.T, rep *Report, syscall string) *Refusal {
	t.Helper()
	for _, a := range rep.Arches {
		for i := range a.Refused {
			if a.Refused[i].Syscall == syscall {
				return &a.Refused[i]
			}
		}
	}
	return nil
}

func TestPlainWorkloadPasses(t *testing.T) {
	for _, ref := range []string{"docker", "containerd", "crio", "containerd@v1.6.20"} {
		rep, err := Check(ref, recorded("read", "write", "openat", "close", "exit_group", "futex", "mmap"), amd64)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Breaks {
			t.Errorf("%s: a plain workload breaks: %+v", ref, rep.Arches)
		}
	}
}

func TestMountRefusedWithoutSysAdmin(t *testing.T) {
	w := recorded("read", "mount", "unshare")
	rep, err := Check("docker@v0.2.4", w, amd64)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Breaks {
		t.Fatal("mount and unshare pass Docker's default without CAP_SYS_ADMIN")
	}
	m := find(t, rep, "mount")
	if m == nil || !m.Always || m.Action != profile.ActErrno || m.ErrnoName != "EPERM" {
		t.Fatalf("mount: %+v, want always ERRNO EPERM", m)
	}
	if !slices.Equal(m.ABIs, []string{"x86_64", "x86", "x32"}) {
		t.Errorf("mount refused on %v, want every ABI of the family", m.ABIs)
	}
	if find(t, rep, "read") != nil {
		t.Error("read refused")
	}
	admin := amd64
	admin.Caps = append(slices.Clone(profile.DefaultCaps), "CAP_SYS_ADMIN")
	rep, err = Check("docker@v0.2.4", w, admin)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Breaks {
		t.Errorf("with CAP_SYS_ADMIN: %+v", rep.Arches)
	}
}

func TestCloneNamespaceFlagsRefused(t *testing.T) {
	for _, ref := range []string{"docker", "containerd@v1.6.20", "containerd@v2.4.2"} {
		rep, err := Check(ref, recorded("clone", "clone3"), amd64)
		if err != nil {
			t.Fatal(err)
		}
		c := find(t, rep, "clone")
		if c == nil || c.Always {
			t.Fatalf("%s: clone: %+v, want refused for some flags only", ref, c)
		}
		var names []string
		for _, v := range c.Values {
			names = append(names, v.Name)
		}
		for _, want := range []string{"CLONE_NEWNS", "CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWNET", "CLONE_NEWCGROUP"} {
			if !slices.Contains(names, want) {
				t.Errorf("%s: clone refusal lists %v, not %s", ref, names, want)
			}
		}
		c3 := find(t, rep, "clone3")
		if c3 == nil || !c3.Always || c3.ErrnoName != "ENOSYS" {
			t.Errorf("%s: clone3: %+v, want always ENOSYS", ref, c3)
		}
	}
}

func TestSubjectArgsComparedPrecisely(t *testing.T) {
	// clone without namespace flags only: Docker's default allows exactly
	// that, so nothing breaks.
	w := recorded("read")
	w.Syscalls = append(w.Syscalls, profile.Syscall{Names: []string{"clone"}, Action: profile.ActAllow,
		Args: []profile.Arg{{Index: 0, Op: profile.OpMaskedEqual, Value: 0x7e020000}}})
	rep, err := Check("docker", w, amd64)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Breaks {
		t.Errorf("a workload cloning without namespace flags breaks: %+v", rep.Arches)
	}
}

func TestSocketFamiliesByVersion(t *testing.T) {
	w := recorded("socket")
	old, err := Check("containerd@v1.6.20", w, amd64)
	if err != nil {
		t.Fatal(err)
	}
	if r := find(t, old, "socket"); r != nil {
		t.Errorf("containerd 1.6.20 allowed every socket family: %+v", r)
	}
	rep, err := Check("containerd@v2.4.2", w, amd64)
	if err != nil {
		t.Fatal(err)
	}
	r := find(t, rep, "socket")
	if r == nil || r.Always {
		t.Fatalf("containerd 2.4.2: socket %+v, want some families refused", r)
	}
	var names []string
	for _, v := range r.Values {
		names = append(names, v.Name)
	}
	if !slices.Contains(names, "AF_VSOCK") || !slices.Contains(names, "AF_ALG") || slices.Contains(names, "AF_INET") {
		t.Errorf("refused families %v, want AF_ALG and AF_VSOCK, not AF_INET", names)
	}
	// moby v0.3.0 allows listed families only: every refused one is named,
	// AF_APPLETALK (5) too, which is next to no value its rules compare with.
	rep, err = Check("docker@v0.3.0", w, amd64)
	if err != nil {
		t.Fatal(err)
	}
	names = nil
	for _, v := range find(t, rep, "socket").Values {
		names = append(names, v.Name)
	}
	for _, want := range []string{"AF_APPLETALK", "AF_IPX", "AF_ALG", "AF_VSOCK"} {
		if !slices.Contains(names, want) {
			t.Errorf("docker v0.3.0: refused families %v lack %s", names, want)
		}
	}
	if slices.Contains(names, "AF_INET6") || slices.Contains(names, "AF_UNIX") {
		t.Errorf("docker v0.3.0: refused families %v include an allowed one", names)
	}
}

func TestArchCoverageAndConditions(t *testing.T) {
	w := recorded("arch_prctl")
	w.Architectures = nil
	rep, err := Check("containerd@v1.6.20", w, Options{Arches: []string{"arm64"}, Kernel: "6.1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Breaks {
		t.Errorf("arch_prctl has no arm64 number, yet: %+v", rep.Arches)
	}
	w = recorded("cacheflush", "set_tls")
	w.Architectures = []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	rep, err = Check("containerd@v1.6.20", w, Options{Arches: []string{"arm64"}, Kernel: "6.1"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Breaks {
		t.Errorf("containerd allows ARM's cacheflush and set_tls on arm64 hosts: %+v", rep.Arches)
	}
	rep, err = Check("containerd@v1.6.20", recorded("ptrace"), Options{Arches: []string{"amd64"}, Kernel: "4.4"})
	if err != nil {
		t.Fatal(err)
	}
	if find(t, rep, "ptrace") == nil {
		t.Error("containerd allows ptrace below kernel 4.8")
	}
	if _, err := Check("crio", w, Options{Arches: []string{"ppc64le"}}); err == nil {
		t.Error("crio's data has no ppc64le, yet no error")
	}
}

func TestAllowAllWorkloadIsAnError(t *testing.T) {
	w := &profile.Profile{DefaultAction: profile.ActAllow}
	if _, err := Check("docker", w, amd64); err == nil {
		t.Error("no error for a profile that allows everything")
	}
}
