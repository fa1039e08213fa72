package bpf

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Bytes returns d as the kernel lays out struct seccomp_data on a host of
// the given byte order (every field is in host order, so the low word of a
// 64-bit argument comes first on little-endian hosts and second on big-endian
// ones).
func (d Data) Bytes(order binary.ByteOrder) [DataSize]byte {
	var b [DataSize]byte
	order.PutUint32(b[OffNr:], uint32(d.Nr))
	order.PutUint32(b[OffArch:], d.Arch)
	order.PutUint64(b[OffIP:], d.IP)
	for i, a := range d.Args {
		order.PutUint64(b[OffArgs+8*i:], a)
	}
	return b
}

// Simulate runs a seccomp program on d as a little-endian host's kernel
// would (x86_64, aarch64, riscv64, ppc64le, ...). Use SimulateOrder for the
// ABIs of big-endian hosts (ByteOrder(arch) tells which).
func Simulate(insns []bpf.RawInstruction, d Data) (Result, error) {
	return SimulateOrder(insns, d, binary.LittleEndian)
}

// SimulateOrder runs insns on d laid out in the given byte order. It first
// checks the program as the kernel's seccomp does on load (length, opcodes
// seccomp admits, jump targets, offsets, a final RET) and returns an error
// for a program the kernel would refuse.
func SimulateOrder(insns []bpf.RawInstruction, d Data, order binary.ByteOrder) (Result, error) {
	if err := Check(insns); err != nil {
		return Result{}, err
	}
	return execute(insns, d.Bytes(order), order)
}

// Check reports why the kernel would refuse insns as a seccomp filter.
func Check(insns []bpf.RawInstruction) error {
	if len(insns) == 0 || len(insns) > maxInsns {
		return fmt.Errorf("program has %d instructions, the kernel takes 1..%d", len(insns), maxInsns)
	}
	for pc, in := range insns {
		if err := checkInsn(insns, pc, in); err != nil {
			return fmt.Errorf("instruction %d (%#04x jt=%d jf=%d k=%#x): %w", pc, in.Op, in.Jt, in.Jf, in.K, err)
		}
	}
	if last := insns[len(insns)-1].Op; last != opRetK && last != unix.BPF_RET|unix.BPF_A {
		return fmt.Errorf("instruction %d: program does not end with a return", len(insns)-1)
	}
	return nil
}

func checkInsn(insns []bpf.RawInstruction, pc int, in bpf.RawInstruction) error {
	left := len(insns) - pc - 1 // instructions after this one
	switch in.Op {
	case opLdAbsW:
		if in.K >= DataSize || in.K&3 != 0 {
			return fmt.Errorf("load offset %d is outside seccomp_data or not 4-byte aligned", in.K)
		}
	case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM, unix.BPF_ST, unix.BPF_STX:
		if in.K >= unix.BPF_MEMWORDS {
			return fmt.Errorf("scratch memory slot %d out of range 0..%d", in.K, unix.BPF_MEMWORDS-1)
		}
	case unix.BPF_ALU | unix.BPF_DIV | unix.BPF_K:
		if in.K == 0 {
			return fmt.Errorf("division by constant zero")
		}
	case unix.BPF_ALU | unix.BPF_LSH | unix.BPF_K, unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K:
		if in.K >= 32 {
			return fmt.Errorf("shift by %d", in.K)
		}
	case opJa:
		if uint64(in.K) >= uint64(left) {
			return fmt.Errorf("jump of %d goes past the end of the program", in.K)
		}
	case opJeqK, opJgtK, opJgeK, opJsetK,
		unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_X, unix.BPF_JMP | unix.BPF_JGT | unix.BPF_X,
		unix.BPF_JMP | unix.BPF_JGE | unix.BPF_X, unix.BPF_JMP | unix.BPF_JSET | unix.BPF_X:
		if int(in.Jt) >= left || int(in.Jf) >= left {
			return fmt.Errorf("jump goes past the end of the program")
		}
	default:
		if !seccompOps[in.Op] {
			return fmt.Errorf("opcode not allowed in seccomp filters")
		}
	}
	return nil
}

// seccompOps are the remaining opcodes seccomp_check_filter admits.
var seccompOps = map[uint16]bool{
	unix.BPF_LD | unix.BPF_W | unix.BPF_LEN: true, unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN: true,
	opRetK: true, unix.BPF_RET | unix.BPF_A: true,
	unix.BPF_LD | unix.BPF_IMM: true, unix.BPF_LDX | unix.BPF_IMM: true,
	unix.BPF_MISC | unix.BPF_TAX: true, unix.BPF_MISC | unix.BPF_TXA: true,
	unix.BPF_ALU | unix.BPF_NEG: true, unix.BPF_ALU | unix.BPF_DIV | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_ADD | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_ADD | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_SUB | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_SUB | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_MUL | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_MUL | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_AND | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_AND | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_OR | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_OR | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_XOR | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_XOR | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_LSH | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_LSH | unix.BPF_X: true,
	unix.BPF_ALU | unix.BPF_RSH | unix.BPF_K: true, unix.BPF_ALU | unix.BPF_RSH | unix.BPF_X: true,
}

// machine is the classic BPF state: accumulator, index register, scratch.
type machine struct {
	a, x    uint32
	mem     [unix.BPF_MEMWORDS]uint32
	written [unix.BPF_MEMWORDS]bool
}

// execute runs a checked program. Jumps only go forward, so it terminates.
func execute(insns []bpf.RawInstruction, data [DataSize]byte, order binary.ByteOrder) (Result, error) {
	var m machine
	for pc, n := 0, 1; pc < len(insns); pc, n = pc+1, n+1 {
		in := insns[pc]
		switch in.Op & 0x07 {
		case unix.BPF_RET:
			if in.Op == opRetK {
				return Result{Ret: in.K, Executed: n}, nil
			}
			return Result{Ret: m.a, Executed: n}, nil
		case unix.BPF_JMP:
			pc += m.jump(in)
		case unix.BPF_ALU:
			if !m.alu(in) {
				// Classic BPF returns 0 (KILL_THREAD) on division by zero.
				return Result{Ret: 0, Executed: n}, nil
			}
		default:
			if err := m.load(in, data, order); err != nil {
				return Result{}, fmt.Errorf("instruction %d: %w", pc, err)
			}
		}
	}
	return Result{}, fmt.Errorf("program ran past its end")
}

func (m *machine) load(in bpf.RawInstruction, data [DataSize]byte, order binary.ByteOrder) error {
	switch in.Op {
	case opLdAbsW:
		m.a = order.Uint32(data[in.K:])
	case unix.BPF_LD | unix.BPF_W | unix.BPF_LEN:
		m.a = DataSize
	case unix.BPF_LDX | unix.BPF_W | unix.BPF_LEN:
		m.x = DataSize
	case unix.BPF_LD | unix.BPF_IMM:
		m.a = in.K
	case unix.BPF_LDX | unix.BPF_IMM:
		m.x = in.K
	case unix.BPF_MISC | unix.BPF_TAX:
		m.x = m.a
	case unix.BPF_MISC | unix.BPF_TXA:
		m.a = m.x
	case unix.BPF_ST, unix.BPF_STX:
		v := m.a
		if in.Op == unix.BPF_STX {
			v = m.x
		}
		m.mem[in.K], m.written[in.K] = v, true
	case unix.BPF_LD | unix.BPF_MEM, unix.BPF_LDX | unix.BPF_MEM:
		// The kernel refuses programs that may read a slot before
		// storing to it; we catch the path actually taken.
		if !m.written[in.K] {
			return fmt.Errorf("reads scratch memory slot %d before storing to it", in.K)
		}
		if in.Op&0x07 == unix.BPF_LD {
			m.a = m.mem[in.K]
		} else {
			m.x = m.mem[in.K]
		}
	}
	return nil
}

// jump returns how many instructions to skip.
func (m *machine) jump(in bpf.RawInstruction) int {
	if in.Op == opJa {
		return int(in.K)
	}
	v := in.K
	if in.Op&unix.BPF_X != 0 {
		v = m.x
	}
	var ok bool
	switch in.Op & 0xf0 {
	case unix.BPF_JEQ:
		ok = m.a == v
	case unix.BPF_JGT:
		ok = m.a > v
	case unix.BPF_JGE:
		ok = m.a >= v
	case unix.BPF_JSET:
		ok = m.a&v != 0
	}
	if ok {
		return int(in.Jt)
	}
	return int(in.Jf)
}

// alu applies an arithmetic instruction; false means division by zero.
func (m *machine) alu(in bpf.RawInstruction) bool {
	v := in.K
	if in.Op&unix.BPF_X != 0 {
		v = m.x
	}
	switch in.Op & 0xf0 {
	case unix.BPF_ADD:
		m.a += v
	case unix.BPF_SUB:
		m.a -= v
	case unix.BPF_MUL:
		m.a *= v
	case unix.BPF_DIV:
		if v == 0 {
			return false
		}
		m.a /= v
	case unix.BPF_OR:
		m.a |= v
	case unix.BPF_AND:
		m.a &= v
	case unix.BPF_XOR:
		m.a ^= v
	case unix.BPF_LSH:
		m.a <<= v & 31
	case unix.BPF_RSH:
		m.a >>= v & 31
	case unix.BPF_NEG:
		m.a = -m.a
	}
	return true
}
