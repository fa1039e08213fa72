package recorder

import (
	"encoding/json"
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// FuzzRestore: whatever node state recordings an agent reads back (another
// client may have written them), restoring them neither panics nor
// exceeds the node state's bounds, and what it writes next is sorted and
// restores to itself.
func FuzzRestore(f *testing.F) {
	f.Add([]byte(`[{"recording":"ns/r","recordingUID":"u","pod":"p","podUID":"pu","container":"c","source":"ebpf","fromStart":true,"architectures":["x86_64","i386"],"syscalls":["read","write"]}]`))
	f.Add([]byte(`[{"recording":"ns/r","recordingUID":"u","pod":"p","podUID":"pu","container":"c","source":"log","syscalls":["read","read",""]},{"recording":"ns/r","recordingUID":"u","pod":"p","podUID":"pu","container":"c","source":"log"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var recs []v1alpha1.NodeRecording
		if json.Unmarshal(data, &recs) != nil {
			return
		}
		s := newStore(4)
		keep := func(string, types.UID) bool { return true }
		s.restore(recs, keep)
		out := s.list()
		if len(out) > 4 {
			t.Fatalf("%d recordings, over the bound", len(out))
		}
		for _, r := range out {
			if len(r.Syscalls) > maxSyscalls || len(r.Architectures) > maxArchitectures ||
				!slices.IsSorted(r.Syscalls) || !slices.IsSorted(r.Architectures) {
				t.Fatalf("entry out of bounds or unsorted: %+v", r)
			}
		}
		again := newStore(4)
		again.restore(out, keep)
		if b, a := mustJSON(t, out), mustJSON(t, again.list()); b != a {
			t.Fatalf("restoring what was written changed it:\n%s\n%s", b, a)
		}
	})
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
