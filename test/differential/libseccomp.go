//go:build libseccomp

// Package differential compiles the same profiles with libseccomp (through
// its C API, cgo) and with pkg/seccomp/bpf, and compares what the two
// programs decide. libseccomp is the de-facto reference runc/crun use, so a
// disagreement is either a bug in our compiler or a documented difference.
package differential

/*
#cgo pkg-config: libseccomp
#include <errno.h>
#include <stdlib.h>
#include <seccomp.h>

static int add_arch(scmp_filter_ctx ctx, uint32_t a) { return seccomp_arch_add(ctx, a); }
static int rm_native(scmp_filter_ctx ctx) { return seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE); }
static int set_attrs(scmp_filter_ctx ctx) {
	int rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS);
	if (rc < 0) return rc;
	return seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
}
static int add_rule(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned int n, const struct scmp_arg_cmp *args) {
	return seccomp_rule_add_array(ctx, action, nr, n, args);
}
*/
import "C"

import (
	"fmt"
	"os"
	"sort"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	ourbpf "github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Program is libseccomp's compiled filter.
type Program struct {
	Arches       []*syscalls.Arch
	Instructions []bpf.RawInstruction
	// Unresolved lists, per ABI, the rule names libseccomp 2.5.4 cannot
	// resolve on that ABI although our tables know them there (syscalls
	// newer than the library). Those rules are absent from its program, so
	// the comparison must skip those syscall numbers.
	Unresolved map[string][]string
	// RulesAdded counts seccomp_rule_add_array calls that succeeded.
	RulesAdded int
}

// ABIs returns the ABIs of a program compiled for native: Family(native) ∩
// p.Architectures, native only when the profile lists none (contract §1).
func ABIs(p *profile.Profile, native string) ([]*syscalls.Arch, error) {
	arch, ok := syscalls.Get(native)
	if !ok || arch.Native != arch.Name {
		return nil, fmt.Errorf("unknown native arch %q", native)
	}
	out := profile.AdmittedABIs(p, arch)
	if len(out) == 0 {
		return nil, fmt.Errorf("architectures %v share no ABI with %s", p.Architectures, native)
	}
	return out, nil
}

var ops = map[profile.Operator]C.enum_scmp_compare{
	profile.OpNotEqual:     C.SCMP_CMP_NE,
	profile.OpLessThan:     C.SCMP_CMP_LT,
	profile.OpLessEqual:    C.SCMP_CMP_LE,
	profile.OpEqualTo:      C.SCMP_CMP_EQ,
	profile.OpGreaterEqual: C.SCMP_CMP_GE,
	profile.OpGreaterThan:  C.SCMP_CMP_GT,
	profile.OpMaskedEqual:  C.SCMP_CMP_MASKED_EQ,
}

// token is libseccomp's arch token (x32's differs from its audit value).
func token(a *syscalls.Arch) C.uint32_t {
	cs := C.CString(a.Name)
	defer C.free(unsafe.Pointer(cs))
	return C.uint32_t(C.seccomp_arch_resolve_name(cs))
}

// resolve is seccomp_syscall_resolve_name_arch; ok is false for
// __NR_SCMP_ERROR (the library does not know the name at all). Names the
// ABI lacks resolve to negative pseudo numbers, which are fine to add.
func resolve(a *syscalls.Arch, name string) (int, bool) {
	cs := C.CString(name)
	defer C.free(unsafe.Pointer(cs))
	nr := int(C.seccomp_syscall_resolve_name_arch(token(a), cs))
	return nr, nr != C.__NR_SCMP_ERROR
}

// Compile builds p (already profile.Resolve'd) with libseccomp for the
// native ABI family: default action, ABIs as in ABIs, BADARCH =
// KILL_PROCESS, binary-tree optimisation, one rule per profile rule and name
// (libseccomp translates the number to every ABI of the filter and does the
// x86 socketcall/ipc multiplexing itself), exported with seccomp_export_bpf.
func Compile(p *profile.Profile, native string) (*Program, error) {
	abis, err := ABIs(p, native)
	if err != nil {
		return nil, err
	}
	def, err := ourbpf.ActionRet(p.DefaultAction, p.DefaultErrnoRet)
	if err != nil {
		return nil, fmt.Errorf("defaultAction: %w", err)
	}
	ctx := C.seccomp_init(C.uint32_t(def))
	if ctx == nil {
		return nil, fmt.Errorf("seccomp_init(%#x) failed", def)
	}
	defer C.seccomp_release(ctx)
	if rc := C.rm_native(ctx); rc < 0 {
		return nil, fmt.Errorf("seccomp_arch_remove(native): %d", rc)
	}
	for _, a := range abis {
		if rc := C.add_arch(ctx, token(a)); rc < 0 {
			return nil, fmt.Errorf("seccomp_arch_add(%s): %d", a.Name, rc)
		}
	}
	if rc := C.set_attrs(ctx); rc < 0 {
		return nil, fmt.Errorf("seccomp_attr_set: %d", rc)
	}
	prog := &Program{Arches: abis, Unresolved: map[string][]string{}}
	nativeABI := syscalls.MustGet(native)
	unres := map[string]map[string]bool{}
	for i, s := range p.Syscalls {
		ret, err := ourbpf.ActionRet(s.Action, s.ErrnoRet)
		if err != nil {
			return nil, fmt.Errorf("syscalls[%d]: %w", i, err)
		}
		if ret == def {
			// libseccomp refuses (EACCES) rules with the default action;
			// runc skips them too. With §4's disjointness they change nothing.
			continue
		}
		cargs := make([]C.struct_scmp_arg_cmp, len(s.Args))
		for j, a := range s.Args {
			op, ok := ops[a.Op]
			if !ok {
				return nil, fmt.Errorf("syscalls[%d].args[%d]: unknown op %q", i, j, a.Op)
			}
			cargs[j] = C.struct_scmp_arg_cmp{arg: C.uint(a.Index), op: op,
				datum_a: C.scmp_datum_t(a.Value), datum_b: C.scmp_datum_t(a.ValueTwo)}
		}
		for _, name := range s.Names {
			skip := false
			for _, a := range abis {
				if _, known := a.Lookup(name); !known {
					continue
				}
				if _, ok := resolve(a, name); !ok {
					if unres[a.Name] == nil {
						unres[a.Name] = map[string]bool{}
					}
					unres[a.Name][name] = true
					skip = true
				}
			}
			nr, ok := resolve(nativeABI, name)
			if skip || !ok {
				continue
			}
			var argp *C.struct_scmp_arg_cmp
			if len(cargs) > 0 {
				argp = &cargs[0]
			}
			if rc := C.add_rule(ctx, C.uint32_t(ret), C.int(nr), C.uint(len(cargs)), argp); rc < 0 {
				return nil, fmt.Errorf("seccomp_rule_add_array(syscalls[%d] %s, %s, %d args): %s", i, name, ourbpf.RetString(ret), len(cargs), unix.Errno(-rc))
			}
			prog.RulesAdded++
		}
	}
	for abi, m := range unres {
		for n := range m {
			prog.Unresolved[abi] = append(prog.Unresolved[abi], n)
		}
		sort.Strings(prog.Unresolved[abi])
	}
	insns, err := export(ctx)
	if err != nil {
		return nil, err
	}
	prog.Instructions = insns
	return prog, nil
}

// export runs seccomp_export_bpf into a memfd and reads the sock_filter
// array back (host byte order: this test only runs on its host family).
func export(ctx C.scmp_filter_ctx) ([]bpf.RawInstruction, error) {
	fd, err := unix.MemfdCreate("libseccomp-bpf", 0)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "libseccomp-bpf")
	defer f.Close()
	if rc := C.seccomp_export_bpf(ctx, C.int(fd)); rc < 0 {
		return nil, fmt.Errorf("seccomp_export_bpf: %s", unix.Errno(-rc))
	}
	if _, err := f.Seek(0, 0); err != nil {
		return nil, err
	}
	raw, err := os.ReadFile("/proc/self/fd/" + fmt.Sprint(fd))
	if err != nil {
		return nil, fmt.Errorf("read exported bpf: %w", err)
	}
	if len(raw)%8 != 0 {
		return nil, fmt.Errorf("exported bpf is %d bytes, not a multiple of 8", len(raw))
	}
	out := make([]bpf.RawInstruction, len(raw)/8)
	for i := range out {
		b := raw[i*8:]
		out[i] = bpf.RawInstruction{
			Op: uint16(b[0]) | uint16(b[1])<<8, Jt: b[2], Jf: b[3],
			K: uint32(b[4]) | uint32(b[5])<<8 | uint32(b[6])<<16 | uint32(b[7])<<24,
		}
	}
	return out, nil
}
