package bpfrec

import (
	"encoding/binary"
	"slices"
	"testing"
)

func set(bits []uint64, abi, nr int) { bits[abi*nrWords+nr/64] |= 1 << (nr % 64) }

func TestDecodeNamesEachABIWithItsTable(t *testing.T) {
	amd64, _ := abiNames("amd64")
	bits := make([]uint64, nrABIs*nrWords)
	set(bits, 0, 110) // x86_64 getppid
	set(bits, 1, 122) // i386 uname (x86_64's 122 is setfsuid)
	set(bits, 1, 192) // i386 mmap2
	set(bits, 2, 110) // x32 getppid: the program masked the x32 bit off
	set(bits, 0, 1000)
	s, err := decode(amd64, bits)
	if err != nil {
		t.Fatal(err)
	}
	for abi, want := range map[string][]string{"x86_64": {"getppid"}, "x86": {"mmap2", "uname"}, "x32": {"getppid"}} {
		if got := s.NamesOf(abi); !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", abi, got, want)
		}
	}
	if got := s.Unnamed(); !slices.Equal(got, []string{"x86_64:#1000"}) {
		t.Errorf("unnamed %v: a number no table names must be kept", got)
	}
}

func TestDecodeARMPrivateSyscalls(t *testing.T) {
	arm64, _ := abiNames("arm64")
	bits := make([]uint64, nrABIs*nrWords)
	set(bits, 1, armPrivateSlot0+5) // 0x0f0005 set_tls
	set(bits, 0, 173)               // aarch64 getppid
	s, err := decode(arm64, bits)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.NamesOf("arm"); !slices.Equal(got, []string{"set_tls"}) {
		t.Errorf("arm: %v", got)
	}
	if got := s.NamesOf("aarch64"); !slices.Equal(got, []string{"getppid"}) {
		t.Errorf("aarch64: %v", got)
	}
	set(bits, 2, 1)
	if _, err := decode(arm64, bits); err == nil {
		t.Error("an x32 bit on arm64 decoded without error")
	}
}

// FuzzDecode: a map value of any content decodes or errors, never panics,
// and every set bit ends up named or unnamed.
func FuzzDecode(f *testing.F) {
	f.Add(make([]byte, nrABIs*nrWords*8), "amd64")
	f.Add([]byte{0xff, 0xff}, "arm64")
	f.Fuzz(func(t *testing.T, raw []byte, goarch string) {
		names, err := abiNames(goarch)
		if err != nil {
			return
		}
		bits := make([]uint64, len(raw)/8)
		for i := range bits {
			bits[i] = binary.LittleEndian.Uint64(raw[i*8:])
		}
		s, err := decode(names, bits)
		if err != nil {
			return
		}
		n := 0
		for _, w := range bits {
			for ; w != 0; w &= w - 1 {
				n++
			}
		}
		got := len(s.Unnamed())
		for _, abi := range s.ABIs() {
			got += len(s.NamesOf(abi))
		}
		if got > n || (n > 0 && got == 0) {
			t.Fatalf("%d bits set, %d names and unnamed", n, got)
		}
	})
}
