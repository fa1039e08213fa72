package bpfrec

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// coreRelocations lists the CO-RE relocations of the committed object's
// program, as "kind struct[accessor]" strings.
func coreRelocations(t *testing.T, obj string) string {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, ins := range spec.Programs["record_sys_enter"].Instructions {
		if r := btf.CORERelocationMetadata(&ins); r != nil {
			out = append(out, r.String())
		}
	}
	return strings.Join(out, "\n")
}

// Each architecture's object tells compat tasks by its own means (the
// arm64 one cannot run here, so this is what guards it): x86 reads
// thread_info.status (TS_COMPAT), arm64 the saved pstate; both read the
// mount namespace's inode and id. Accessors are member indexes in
// c/vmlinux_min.h's order: task_struct[0:0:1] is thread_info.status,
// pt_regs[0:3] is pstate, mnt_namespace[0:0:0] ns.inum, [0:0:1] ns.ns_id,
// [0:1] seq.
func TestObjectsReadTheirArchitecturesCompatState(t *testing.T) {
	common := []string{`"mnt_namespace"[0:0:0]`, `byte_off, Struct:"mnt_namespace"[0:0:1]`, `field_exists, Struct:"mnt_namespace"[0:1]`}
	for _, c := range []struct {
		obj       string
		want, not string
	}{
		{"recorder_x86_bpfel.o", `Struct:"task_struct"[0:0:1]`, `"pt_regs"`},
		{"recorder_arm64_bpfel.o", `Struct:"pt_regs"[0:3]`, `"task_struct"[0:0`},
	} {
		relos := coreRelocations(t, c.obj)
		for _, w := range append(common, c.want) {
			if !strings.Contains(relos, w) {
				t.Errorf("%s: no CO-RE relocation %s:\n%s", c.obj, w, relos)
			}
		}
		if strings.Contains(relos, c.not) {
			t.Errorf("%s reads %s, the other architecture's compat state:\n%s", c.obj, c.not, relos)
		}
	}
}
