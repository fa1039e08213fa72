package bpfrec

import (
	"fmt"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// The layout of the kernel's bitmaps; c/recorder.bpf.c is the other side.
const (
	nrWords = 16 // per ABI
	nrBits  = nrWords * 64
	nrABIs  = 3 // native, compat, x32
	// Each value holds three sets of bitmaps: tasks without a seccomp
	// filter, tasks under one, and the runtime's init without one.
	nrSets   = 3
	setWords = nrABIs * nrWords
	// The sets' places in a value.
	setUnfiltered = 0
	setFiltered   = 1
	setRuntime    = 2

	// ARM's private syscalls (0x0f0001 breakpoint .. 0x0f0006 get_tls) are
	// folded into the compat bitmap's top slots by the arm64 program.
	armPrivateBase  = 0x0f0000
	armPrivateSlots = 24
	armPrivateSlot0 = nrBits - armPrivateSlots
)

// abiNames are the syscalls.Arch names of the bitmaps' ABIs (native,
// compat, x32) for a GOARCH; "" when the architecture has no such ABI.
func abiNames(goarch string) ([nrABIs]string, error) {
	switch goarch {
	case "amd64":
		return [nrABIs]string{"x86_64", "x86", "x32"}, nil
	case "arm64":
		return [nrABIs]string{"aarch64", "arm", ""}, nil
	}
	return [nrABIs]string{}, fmt.Errorf("bpfrec: no recorder for GOARCH %s", goarch)
}

// onlyIn is the words of a value's set that no other set of it has: the
// syscalls only that set's tasks made.
func onlyIn(bits []uint64, set int) []uint64 {
	out := make([]uint64, setWords)
	copy(out, bits[set*setWords:(set+1)*setWords])
	for other := 0; other < nrSets; other++ {
		if other == set {
			continue
		}
		for i := range out {
			out[i] &^= bits[other*setWords+i]
		}
	}
	return out
}

// decode turns a value's bitmaps into a Set named with each ABI's table.
// A bit of an ABI the architecture does not have, or a number no table
// names, is kept in the Set's Unnamed list rather than dropped.
func decode(names [nrABIs]string, bits []uint64) (*recording.Set, error) {
	if len(bits) != nrABIs*nrWords {
		return nil, fmt.Errorf("bpfrec: bitmap of %d words, want %d", len(bits), nrABIs*nrWords)
	}
	s := &recording.Set{}
	for abi := 0; abi < nrABIs; abi++ {
		var arch *syscalls.Arch
		if names[abi] != "" {
			arch, _ = syscalls.Get(names[abi])
		}
		for w := 0; w < nrWords; w++ {
			word := bits[abi*nrWords+w]
			for b := 0; word != 0 && b < 64; b++ {
				if word&(1<<b) == 0 {
					continue
				}
				word &^= 1 << b
				nr := w*64 + b
				if arch == nil {
					return nil, fmt.Errorf("bpfrec: syscall %d recorded on ABI slot %d, which %v does not have", nr, abi, names)
				}
				switch {
				case arch.Name == "x32":
					// The program masks the x32 bit off; the table keeps it.
					nr |= syscalls.X32SyscallBit
				case arch.Name == "arm" && nr >= armPrivateSlot0:
					nr = armPrivateBase + nr - armPrivateSlot0
				}
				s.AddNumber(arch, nr)
			}
		}
	}
	return s, nil
}
