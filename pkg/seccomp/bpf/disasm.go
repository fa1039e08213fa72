package bpf

import (
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Encode returns insns as an array of struct sock_filter {u16 code; u8 jt;
// u8 jf; u32 k} in the given byte order, as seccomp(2) takes it.
func Encode(insns []bpf.RawInstruction, order binary.ByteOrder) []byte {
	out := make([]byte, 8*len(insns))
	for i, in := range insns {
		b := out[8*i:]
		order.PutUint16(b, in.Op)
		b[2], b[3] = in.Jt, in.Jf
		order.PutUint32(b[4:], in.K)
	}
	return out
}

// Raw returns the program encoded in its native architecture's byte order.
func (p *Program) Raw() []byte { return Encode(p.Instructions, ByteOrder(p.Native)) }

// Disassemble prints one instruction per line: its index, the raw fields,
// the instruction, absolute jump targets, and what loads, architecture
// constants and return values mean.
func Disassemble(insns []bpf.RawInstruction) string {
	var sb strings.Builder
	sb.WriteString(" line  code   jt   jf   k\n")
	// Name AUDIT_ARCH constants only in comparisons that follow a load of
	// the arch field (elsewhere 0x16 is just 22).
	archLoaded := false
	for pc, in := range insns {
		if in.Op&0x07 == 0 { // any load into A
			archLoaded = in.Op == opLdAbsW && in.K == OffArch
		}
		fmt.Fprintf(&sb, " %04d: 0x%02x 0x%02x 0x%02x 0x%08x   %s\n", pc, in.Op, in.Jt, in.Jf, in.K, describe(pc, in, archLoaded))
	}
	return sb.String()
}

func describe(pc int, in bpf.RawInstruction, archLoaded bool) string {
	switch in.Op {
	case opLdAbsW:
		return "ld  " + fieldName(in.K)
	case opJa:
		return fmt.Sprintf("jmp %04d", pc+1+int(in.K))
	case opJeqK, opJgtK, opJgeK, opJsetK:
		k := fmt.Sprintf("%#x", in.K)
		if archLoaded {
			k = archConst(in.K)
		}
		return fmt.Sprintf("%s %s true:%04d false:%04d", jumpName(in.Op), k, pc+1+int(in.Jt), pc+1+int(in.Jf))
	case opRetK:
		return "ret " + RetString(in.K)
	}
	return fmt.Sprint(in.Disassemble())
}

func jumpName(op uint16) string {
	switch op {
	case opJeqK:
		return "jeq"
	case opJgtK:
		return "jgt"
	case opJgeK:
		return "jge"
	}
	return "jset"
}

func fieldName(off uint32) string {
	switch {
	case off == OffNr:
		return "nr"
	case off == OffArch:
		return "arch"
	case off == OffIP || off == OffIP+4:
		return fmt.Sprintf("ip[%d]", off-OffIP)
	case off >= OffArgs && off < DataSize:
		i := (off - OffArgs) / 8
		return fmt.Sprintf("args[%d][%d]", i, off-OffArgs-8*i)
	}
	return fmt.Sprintf("$data[%d]", off)
}

// archConst spells out AUDIT_ARCH values, which are otherwise opaque.
func archConst(k uint32) string {
	for _, a := range syscalls.All() {
		if a.Audit == k && a.Name != "x32" {
			return fmt.Sprintf("%#x (AUDIT_ARCH %s)", k, a.Name)
		}
	}
	return fmt.Sprintf("%#x", k)
}
