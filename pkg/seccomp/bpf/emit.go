package bpf

import (
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// Classic BPF opcodes the compiler emits (struct sock_filter.code).
const (
	opLdAbsW uint16 = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	opJa     uint16 = unix.BPF_JMP | unix.BPF_JA
	opJeqK   uint16 = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	opJgtK   uint16 = unix.BPF_JMP | unix.BPF_JGT | unix.BPF_K
	opJgeK   uint16 = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
	opJsetK  uint16 = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	opAndK   uint16 = unix.BPF_ALU | unix.BPF_AND | unix.BPF_K
	opRetK   uint16 = unix.BPF_RET | unix.BPF_K
)

// maxJump is the farthest a conditional jump's 8-bit jt/jf offset reaches.
const maxJump = 255

// maxInsns is BPF_MAXINSNS, the longest program the kernel accepts.
const maxInsns = 4096

// emitter builds a program backwards, from its last instruction to its first.
// Emitting backwards means every jump target (classic BPF only jumps forward)
// already has a position when the jump is emitted, so jumps that would exceed
// 255 instructions can be fixed on the spot: with a fresh copy of the RET they
// aim at (no extra instruction executed) or a JA trampoline.
type emitter struct {
	rev []bpf.RawInstruction // rev[0] is the program's last instruction
	// retPos is the position (index in rev) of the most recently emitted
	// RET of each value: the closest one to anything emitted later.
	retPos map[uint32]int
	// tramps is the position of the latest JA trampoline to each target
	// position, so other far jumps to the same place can share it.
	tramps map[int]int
}

// reset empties e for a new program, keeping its storage.
func (e *emitter) reset() *emitter {
	e.rev = e.rev[:0]
	if e.retPos == nil {
		e.retPos, e.tramps = map[uint32]int{}, map[int]int{}
	} else {
		clear(e.retPos)
		clear(e.tramps)
	}
	return e
}

// target is where a jump goes: an emitted instruction (pos, an index in rev)
// or a RET value that is placed wherever a jump needs it.
type target struct {
	pos int
	ret bool
	k   uint32
}

func retTarget(k uint32) target { return target{pos: -1, ret: true, k: k} }

func (e *emitter) emit(op uint16, jt, jf uint8, k uint32) target {
	e.rev = append(e.rev, bpf.RawInstruction{Op: op, Jt: jt, Jf: jf, K: k})
	return target{pos: len(e.rev) - 1}
}

// last is the most recently emitted instruction: the one a newly emitted
// non-jump instruction falls through to.
func (e *emitter) last() target { return target{pos: len(e.rev) - 1} }

// near returns t's position if an instruction emitted now can reach it.
func (e *emitter) near(t target) (int, bool) {
	cur := len(e.rev)
	if t.ret {
		p, ok := e.retPos[t.k]
		return p, ok && cur-p-1 <= maxJump
	}
	if cur-t.pos-1 <= maxJump {
		return t.pos, true
	}
	p, ok := e.tramps[t.pos]
	return p, ok && cur-p-1 <= maxJump
}

// place makes t reachable from the next emitted instruction: a new RET copy,
// or a JA trampoline to an instruction that is too far away.
func (e *emitter) place(t target) target {
	if t.ret {
		e.ret(t.k)
		return t
	}
	return e.ja(t)
}

func (e *emitter) ret(k uint32) target {
	t := e.emit(opRetK, 0, 0, k)
	e.retPos[k] = t.pos
	return t
}

// ja emits an unconditional jump to the emitted instruction t.
func (e *emitter) ja(t target) target {
	j := e.emit(opJa, 0, 0, uint32(len(e.rev)-t.pos-1))
	e.tramps[t.pos] = j.pos
	return j
}

// jump emits a conditional jump "if A <op> k goto jt else goto jf".
func (e *emitter) jump(op uint16, k uint32, jt, jf target) target {
	for {
		pt, okt := e.near(jt)
		if !okt {
			jt = e.place(jt)
			continue
		}
		pf, okf := e.near(jf)
		if !okf {
			jf = e.place(jf)
			continue
		}
		cur := len(e.rev)
		if pt == pf {
			// Both ways lead to the same place: no test needed.
			if jt.ret {
				return e.fallTo(jt)
			}
			return e.fallTo(target{pos: pt})
		}
		return e.emit(op, uint8(cur-pt-1), uint8(cur-pf-1), k)
	}
}

// fallTo makes t the instruction the next emitted one falls through to.
func (e *emitter) fallTo(t target) target {
	if t.ret {
		if p, ok := e.retPos[t.k]; ok && p == len(e.rev)-1 {
			return target{pos: p}
		}
		return e.ret(t.k)
	}
	if t.pos == len(e.rev)-1 {
		return t
	}
	return e.ja(t)
}

func (e *emitter) load(off uint32) target { return e.emit(opLdAbsW, 0, 0, off) }

func (e *emitter) and(k uint32) target { return e.emit(opAndK, 0, 0, k) }

// program returns the instructions in execution order.
func (e *emitter) program() []bpf.RawInstruction {
	out := make([]bpf.RawInstruction, len(e.rev))
	for i, in := range e.rev {
		out[len(out)-1-i] = in
	}
	return out
}
