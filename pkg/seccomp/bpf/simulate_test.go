package bpf

import (
	"encoding/binary"
	"strings"
	"testing"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func raw(t *testing.T, ins ...bpf.Instruction) []bpf.RawInstruction {
	t.Helper()
	out, err := bpf.Assemble(ins)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestSimulateRejects(t *testing.T) {
	ret := bpf.RetConstant{Val: RetAllow}
	for name, tc := range map[string]struct {
		insns []bpf.RawInstruction
		want  string
	}{
		"empty":          {nil, "program has 0 instructions"},
		"too long":       {make([]bpf.RawInstruction, 4097), "program has 4097 instructions"},
		"no return":      {raw(t, bpf.LoadAbsolute{Off: 0, Size: 4}), "does not end with a return"},
		"jump past end":  {raw(t, bpf.JumpIf{Cond: bpf.JumpEqual, Val: 1, SkipTrue: 1}, ret), "jump goes past the end"},
		"ja past end":    {raw(t, bpf.Jump{Skip: 1}, ret), "jump of 1 goes past the end"},
		"load past data": {raw(t, bpf.LoadAbsolute{Off: 64, Size: 4}, ret), "load offset 64 is outside seccomp_data"},
		"unaligned":      {raw(t, bpf.LoadAbsolute{Off: 2, Size: 4}, ret), "not 4-byte aligned"},
		"byte load":      {raw(t, bpf.LoadAbsolute{Off: 0, Size: 1}, ret), "opcode not allowed"},
		"div by zero":    {[]bpf.RawInstruction{{Op: unix.BPF_ALU | unix.BPF_DIV | unix.BPF_K}, {Op: opRetK}}, "division by constant zero"},
		"bad scratch":    {[]bpf.RawInstruction{{Op: unix.BPF_ST, K: 16}, {Op: opRetK}}, "scratch memory slot 16 out of range"},
		"unset scratch":  {raw(t, bpf.LoadScratch{Dst: bpf.RegA, N: 3}, bpf.RetA{}), "reads scratch memory slot 3 before storing"},
		"unknown opcode": {[]bpf.RawInstruction{{Op: 0xff}, {Op: opRetK}}, "opcode not allowed"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Simulate(tc.insns, Data{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Simulate error = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestSimulateInstructions(t *testing.T) {
	// A hand-written filter using the wider instruction set (X register,
	// scratch memory, ALU ops, RET A) that kernels accept.
	prog := raw(t,
		bpf.LoadAbsolute{Off: OffArgs, Size: 4}, // low word of arg 0 (little endian)
		bpf.StoreScratch{Src: bpf.RegA, N: 2},
		bpf.ALUOpConstant{Op: bpf.ALUOpAdd, Val: 3},
		bpf.TAX{},
		bpf.LoadScratch{Dst: bpf.RegA, N: 2},
		bpf.ALUOpX{Op: bpf.ALUOpMul},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xff},
		bpf.JumpIfX{Cond: bpf.JumpGreaterThan, SkipTrue: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpOr, Val: uint32(RetErrno)},
		bpf.RetA{},
	)
	r, err := Simulate(prog, Data{Args: [6]uint64{4}})
	if err != nil {
		t.Fatal(err)
	}
	// a = 4*(4+3) = 28 & 0xff = 28; 28 > x (7): skip the OR → RET 28.
	if r.Ret != 28 || r.Executed != 9 {
		t.Errorf("got ret %d in %d steps, want 28 in 9", r.Ret, r.Executed)
	}
	r, _ = Simulate(prog, Data{Args: [6]uint64{0}})
	if r.Ret != RetErrno || r.Executed != 10 {
		t.Errorf("got ret %#x in %d steps, want ERRNO(0) in 10", r.Ret, r.Executed)
	}
	div := raw(t, bpf.LoadConstant{Dst: bpf.RegX, Val: 0}, bpf.ALUOpX{Op: bpf.ALUOpDiv}, bpf.RetConstant{Val: RetAllow})
	if r, err := Simulate(div, Data{}); err != nil || r.Ret != RetKillThread {
		t.Errorf("division by zero X: got %v, %v; want RET 0 (kill)", r, err)
	}
}

func TestByteOrder(t *testing.T) {
	d := Data{Nr: 1, Arch: 2, Args: [6]uint64{0x11111111_22222222}}
	le, be := d.Bytes(binary.LittleEndian), d.Bytes(binary.BigEndian)
	if binary.LittleEndian.Uint32(le[OffArgs:]) != 0x22222222 || binary.BigEndian.Uint32(be[OffArgs:]) != 0x11111111 {
		t.Errorf("low word first on little endian, high word first on big endian")
	}
	prog := raw(t, bpf.LoadAbsolute{Off: OffArgs, Size: 4}, bpf.RetA{})
	r, _ := SimulateOrder(prog, d, binary.BigEndian)
	if r.Ret != 0x11111111 {
		t.Errorf("big-endian load of args[0][0] = %#x, want the high word", r.Ret)
	}
}

func TestEncodeAndRaw(t *testing.T) {
	insns := []bpf.RawInstruction{{Op: 0x15, Jt: 1, Jf: 2, K: 0xc000003e}}
	if got := Encode(insns, binary.LittleEndian); string(got) != "\x15\x00\x01\x02\x3e\x00\x00\xc0" {
		t.Errorf("little endian: % x", got)
	}
	if got := Encode(insns, binary.BigEndian); string(got) != "\x00\x15\x01\x02\xc0\x00\x00\x3e" {
		t.Errorf("big endian: % x", got)
	}
	prog := mustCompile(t, &profile.Profile{DefaultAction: profile.ActAllow}, Options{Arch: "s390x"})
	if got := prog.Raw(); len(got) != 8*len(prog.Instructions) || got[0] != 0 || got[1] != 0x20 {
		t.Errorf("s390x Raw should be big endian, starting with ld (0x0020): % x", got[:8])
	}
}

func TestDisassemble(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{
		allow("read"),
		{Names: []string{"dup3"}, Action: profile.ActAllow, Args: []profile.Arg{{Index: 1, Op: profile.OpMaskedEqual, Value: 0xf0, ValueTwo: 0x10}}},
	}}
	out := Disassemble(mustCompile(t, p, Options{Arch: "x86_64"}).Instructions)
	for _, want := range []string{
		" 0000: 0x20 0x00 0x00 0x00000004   ld  arch",
		"jeq 0xc000003e (AUDIT_ARCH x86_64) true:",
		"ld  nr",
		"ld  args[1][0]",
		"and #240",
		"ret SCMP_ACT_ALLOW",
		"ret SCMP_ACT_ERRNO(1)",
		"ret SCMP_ACT_KILL_PROCESS",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("disassembly lacks %q:\n%s", want, out)
		}
	}
}

func TestActions(t *testing.T) {
	for _, tc := range []struct {
		a    profile.Action
		data *uint
		want uint32
		str  string
	}{
		{profile.ActAllow, nil, RetAllow, "SCMP_ACT_ALLOW"},
		{profile.ActErrno, nil, RetErrno | 1, "SCMP_ACT_ERRNO(1)"},
		{profile.ActErrno, uptr(0), RetErrno, "SCMP_ACT_ERRNO(0)"},
		{profile.ActErrno, uptr(38), RetErrno | 38, "SCMP_ACT_ERRNO(38)"},
		{profile.ActTrace, nil, RetTrace | 1, "SCMP_ACT_TRACE(1)"},
		{profile.ActTrace, uptr(0xffff), RetTrace | 0xffff, "SCMP_ACT_TRACE(65535)"},
		{profile.ActKill, nil, RetKillThread, "SCMP_ACT_KILL_THREAD"},
		{profile.ActKillThread, nil, RetKillThread, "SCMP_ACT_KILL_THREAD"},
		{profile.ActKillProcess, nil, RetKillProcess, "SCMP_ACT_KILL_PROCESS"},
		{profile.ActTrap, nil, RetTrap, "SCMP_ACT_TRAP"},
		{profile.ActLog, nil, RetLog, "SCMP_ACT_LOG"},
		{profile.ActNotify, nil, RetUserNotif, "SCMP_ACT_NOTIFY"},
	} {
		got, err := ActionRet(tc.a, tc.data)
		if err != nil || got != tc.want {
			t.Errorf("ActionRet(%s) = %#x, %v; want %#x", tc.a, got, err, tc.want)
		}
		if s := RetString(got); s != tc.str {
			t.Errorf("RetString(%#x) = %q, want %q", got, s, tc.str)
		}
		a, _ := DescribeRet(got)
		if want := tc.a; a != want && !(want == profile.ActKill && a == profile.ActKillThread) {
			t.Errorf("DescribeRet(%#x) = %s, want %s", got, a, want)
		}
	}
	if _, err := ActionRet(profile.ActErrno, uptr(0x10000)); err == nil {
		t.Error("errno 65536 accepted")
	}
	if _, err := ActionRet(profile.ActKillProcess, uptr(1)); err == nil {
		t.Error("errnoRet on KILL_PROCESS accepted")
	}
	if s := RetString(0x12340000); !strings.HasPrefix(s, "unknown(") {
		t.Errorf("RetString of an unknown action = %q", s)
	}
}
