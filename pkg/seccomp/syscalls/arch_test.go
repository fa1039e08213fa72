package syscalls

import (
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestTablesCoverCurrentKernels(t *testing.T) {
	want := []string{"cachestat", "futex_waitv", "mseal", "statmount", "listmount", "lsm_get_self_attr", "read", "openat", "clone3"}
	for _, arch := range []string{"x86_64", "x86", "x32", "aarch64", "arm"} {
		a := MustGet(arch)
		if !a.HasTable {
			t.Fatalf("%s has no table", arch)
		}
		for _, n := range want {
			if _, ok := a.Lookup(n); !ok {
				t.Errorf("%s: %s missing", arch, n)
			}
		}
	}
	if _, ok := MustGet("x86_64").Lookup("map_shadow_stack"); !ok {
		t.Error("x86_64: map_shadow_stack missing")
	}
}

func TestKnownNumbersMatchHost(t *testing.T) {
	// Cross-check against the constants the Go toolchain itself was built with.
	a := MustGet("x86_64")
	for name, nr := range map[string]int{"read": unix.SYS_READ, "openat": unix.SYS_OPENAT, "clone3": unix.SYS_CLONE3, "mseal": 462} {
		got, ok := a.Lookup(name)
		if !ok || got != nr {
			t.Errorf("x86_64 %s = %d, %v; want %d", name, got, ok, nr)
		}
	}
}

func TestX32(t *testing.T) {
	a := MustGet("x32")
	if nr, _ := a.Lookup("read"); nr != X32SyscallBit {
		t.Errorf("x32 read = %#x, want %#x", nr, X32SyscallBit)
	}
	if nr, _ := a.Lookup("rt_sigaction"); nr != X32SyscallBit+512 {
		t.Errorf("x32 rt_sigaction = %#x, want x32-only number 512", nr)
	}
	for _, n := range []string{"map_shadow_stack", "uretprobe"} {
		if _, ok := a.Lookup(n); ok {
			t.Errorf("x32 must not have the x86_64-only %s", n)
		}
	}
	if _, ok := MustGet("aarch64").Lookup("arch_prctl"); ok {
		t.Error("aarch64 has no arch_prctl")
	}
}

func TestFamily(t *testing.T) {
	var got []string
	for _, a := range Family("amd64") {
		got = append(got, a.Name)
	}
	if len(got) != 3 || got[0] != "x86_64" || got[1] != "x86" || got[2] != "x32" {
		t.Errorf("Family(amd64) = %v", got)
	}
	if a, ok := Get("SCMP_ARCH_AARCH64"); !ok || a.Name != "aarch64" {
		t.Error("Get(SCMP_ARCH_AARCH64)")
	}
}

func TestARMPrivateSyscalls(t *testing.T) {
	a := MustGet("arm")
	for name, nr := range map[string]int{"set_tls": 0x0f0005, "cacheflush": 0x0f0002} {
		if got, ok := a.Lookup(name); !ok || got != nr {
			t.Errorf("arm %s = %#x, %v; want %#x (__ARM_NR_BASE + n)", name, got, ok, nr)
		}
	}
	alias, _ := a.Lookup("sync_file_range2")
	if orig, _ := a.Lookup("arm_sync_file_range"); alias != orig || alias == 0 {
		t.Errorf("arm sync_file_range2 = %d, want the number of arm_sync_file_range (%d)", alias, orig)
	}
}

// TestIDs checks the ID lookups against the name lookups on every table:
// the same numbers, and slots that are equal exactly when numbers are.
func TestIDs(t *testing.T) {
	for _, a := range WithTables() {
		slotNr := map[int]int{}
		for _, s := range a.Syscalls() {
			id, ok := IDOf(s.Name)
			if !ok {
				t.Fatalf("%s: IDOf(%s) unknown", a.Name, s.Name)
			}
			if nr, ok := a.Nr(id); !ok || nr != s.Nr {
				t.Errorf("%s: Nr(IDOf(%s)) = %d, %v; want %d", a.Name, s.Name, nr, ok, s.Nr)
			}
			slot, ok := a.Slot(id)
			if !ok || slot < 0 || slot >= a.Slots() {
				t.Fatalf("%s: Slot(%s) = %d, %v; want in [0, %d)", a.Name, s.Name, slot, ok, a.Slots())
			}
			if nr, seen := slotNr[slot]; seen && nr != s.Nr {
				t.Errorf("%s: slot %d holds numbers %d and %d", a.Name, slot, nr, s.Nr)
			}
			slotNr[slot] = s.Nr
		}
		if len(slotNr) != a.Slots() {
			t.Errorf("%s: %d distinct numbers in %d slots", a.Name, len(slotNr), a.Slots())
		}
	}
	x86, arm := MustGet("x86_64"), MustGet("arm")
	id, _ := IDOf("arch_prctl")
	if _, ok := MustGet("aarch64").Nr(id); ok {
		t.Error("aarch64 has no arch_prctl")
	}
	if nr, ok := x86.Nr(id); !ok || nr != 158 {
		t.Errorf("x86_64 arch_prctl = %d, %v; want 158", nr, ok)
	}
	a1, _ := IDOf("sync_file_range2")
	a2, _ := IDOf("arm_sync_file_range")
	s1, _ := arm.Slot(a1)
	s2, _ := arm.Slot(a2)
	if s1 != s2 {
		t.Errorf("arm aliases sync_file_range2 and arm_sync_file_range in slots %d and %d", s1, s2)
	}
	if _, ok := IDOf("no_such_syscall"); ok {
		t.Error("IDOf(no_such_syscall) known")
	}
}

func TestByAudit(t *testing.T) {
	for _, tc := range []struct {
		audit uint32
		nr    int
		want  string
		name  string // the syscall nr names on that ABI
	}{
		{unix.AUDIT_ARCH_X86_64, 83, "x86_64", "mkdir"},
		{unix.AUDIT_ARCH_X86_64, X32SyscallBit | 83, "x32", "mkdir"},
		{unix.AUDIT_ARCH_X86_64, -1, "x86_64", ""},
		{unix.AUDIT_ARCH_I386, 39, "x86", "mkdir"},
		{unix.AUDIT_ARCH_AARCH64, 34, "aarch64", "mkdirat"},
		{unix.AUDIT_ARCH_ARM, 39, "arm", "mkdir"},
	} {
		a, ok := ByAudit(tc.audit, tc.nr)
		if !ok || a.Name != tc.want {
			t.Errorf("ByAudit(%#x, %#x) = %v, %v; want %s", tc.audit, tc.nr, a, ok, tc.want)
			continue
		}
		if tc.name == "" {
			continue
		}
		if n, _ := a.NameOf(tc.nr); n != tc.name {
			t.Errorf("ByAudit(%#x, %#x).NameOf = %q, want %q", tc.audit, tc.nr, n, tc.name)
		}
	}
	if a, ok := ByAudit(0x12345678, 1); ok {
		t.Errorf("unknown AUDIT_ARCH gave %s", a.Name)
	}
	// Every ABI but x32 is reachable from its own value: no two share one.
	for _, a := range All() {
		if a.Name == "x32" {
			continue
		}
		if got, ok := ByAudit(a.Audit, 0); !ok || got != a {
			t.Errorf("ByAudit(%s's %#x) = %v", a.Name, a.Audit, got)
		}
	}
}

// Intern gives every caller the same copy of a known name, and an unknown
// name back as it is.
func TestIntern(t *testing.T) {
	a, b := string([]byte("openat")), string([]byte("openat"))
	if Intern(a) != "openat" || unsafe.StringData(Intern(a)) != unsafe.StringData(Intern(b)) {
		t.Errorf("openat interned as %q, not one copy", Intern(a))
	}
	if unknown := string([]byte("no_such_syscall")); unsafe.StringData(Intern(unknown)) != unsafe.StringData(unknown) {
		t.Error("an unknown name is not given back as it is")
	}
}
