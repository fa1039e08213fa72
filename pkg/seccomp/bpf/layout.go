package bpf

import (
	"fmt"

	"golang.org/x/net/bpf"
)

// emitProgram lays the program out as
//
//	ld arch; jeq AUDIT_ARCH(group 0) → section 0; jeq ... ; ret KILL_PROCESS
//	section 0: ld nr; decision tree; argument blocks
//	section 1: ...
//
// with the native ABI's group first, so its syscalls take the fewest steps.
func (c *compiler) emitProgram(groups []*group) ([]bpf.RawInstruction, error) {
	e := c.em.reset()
	entries := make([]target, len(groups))
	for gi := len(groups) - 1; gi >= 0; gi-- {
		t, err := c.emitGroup(e, groups[gi])
		if err != nil {
			return nil, err
		}
		entries[gi] = t
	}
	next := retTarget(RetKillProcess)
	for gi := len(groups) - 1; gi >= 0; gi-- {
		next = e.jump(opJeqK, groups[gi].audit, entries[gi], next)
	}
	e.fallTo(next)
	e.load(OffArch)
	if n := len(e.rev); n > maxInsns {
		return nil, fmt.Errorf("program has %d instructions, more than the kernel's limit of %d: split the profile's argument rules or use fewer architectures", n, maxInsns)
	}
	return e.program(), nil
}

// emitGroup emits one ABI group's section and returns its entry. The
// argument blocks go after the tree so the tree stays compact (its jumps
// stay short and need no trampolines on the way to a RET).
func (c *compiler) emitGroup(e *emitter, g *group) (target, error) {
	runs, err := c.runs(g)
	if err != nil {
		return target{}, err
	}
	blocks := map[string]target{}
	for i := len(runs) - 1; i >= 0; i-- {
		b := runs[i].leaf.block
		if b == nil {
			continue
		}
		if _, done := blocks[b.key]; !done {
			blocks[b.key] = b.emit(e)
		}
	}
	leaves := func(l leaf) target {
		if l.block != nil {
			return blocks[l.block.key]
		}
		return retTarget(l.ret)
	}
	if len(runs) == 1 {
		// One verdict for every number: no need to load it.
		return leaves(runs[0].leaf), nil
	}
	t := &tree{e: e, runs: runs, leaves: leaves, pre: c.preBuf[:0]}
	e.fallTo(t.emit())
	c.preBuf = t.pre
	e.load(OffNr)
	return e.last(), nil
}
