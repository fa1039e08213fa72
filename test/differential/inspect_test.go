//go:build libseccomp

package differential

import (
	"maps"
	"slices"
	"testing"

	xbpf "golang.org/x/net/bpf"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// TestCompareKernelOnLibseccomp gives bpf.CompareKernel (seccompctl
// inspect's proof) libseccomp's program for each real profile, as a runtime
// would load it: it must prove the two equal on every case except the
// syscalls libseccomp 2.5.4 cannot name (their rules are absent from its
// program), and report exactly those.
func TestCompareKernelOnLibseccomp(t *testing.T) {
	profs := realProfiles(t)
	for _, n := range slices.Sorted(maps.Keys(profs)) {
		t.Run(n, func(t *testing.T) {
			p := profs[n]
			lib, err := Compile(p, native)
			if err != nil {
				t.Fatal(err)
			}
			c, err := bpf.CompareKernel([][]xbpf.RawInstruction{lib.Instructions}, p, bpf.CompareOptions{Native: native, MaxDifferences: 1 << 20})
			if err != nil {
				t.Fatal(err)
			}
			unknown := map[string]map[uint32]bool{}
			for abi, ns := range lib.Unresolved {
				a := syscalls.MustGet(abi)
				unknown[abi] = map[uint32]bool{}
				for _, name := range ns {
					if nr, ok := a.Lookup(name); ok {
						unknown[abi][uint32(nr)] = true
					}
				}
			}
			explained := 0
			for _, d := range c.Differences {
				if unknown[d.ABI][d.Nr] {
					explained++
					continue
				}
				t.Errorf("difference libseccomp does not explain: %+v (kernel %s, profile %s)", d, bpf.RetString(d.Kernel), bpf.RetString(d.Profile))
			}
			if len(c.Unchecked) > 0 {
				t.Errorf("unchecked: %v", c.Unchecked)
			}
			t.Logf("%d cases, %d differences, all on the %d syscalls libseccomp 2.5.4 cannot name", c.Cases, c.DifferenceCount, explained)
		})
	}
}
