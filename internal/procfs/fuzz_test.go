package procfs

import (
	"strings"
	"testing"
)

// FuzzParseCgroup: any content parses without a panic, and a container it
// names has a 64-hex ID that the content holds and a pod UID of UID shape.
func FuzzParseCgroup(f *testing.F) {
	f.Add([]byte(v1("/kubepods/besteffort/pod" + uid + "/" + id1)))
	f.Add([]byte("0::/kubepods.slice/kubepods-pod" + uidSD + ".slice/cri-containerd-" + id1 + ".scope\n"))
	f.Add([]byte("0::/system.slice/docker-" + id1 + ".scope/init.scope"))
	f.Fuzz(func(t *testing.T, content []byte) {
		c, ok := ParseCgroup(content)
		if !ok {
			if c != (Container{}) {
				t.Fatalf("no container but %+v", c)
			}
			return
		}
		if !isID([]byte(c.ID)) || !strings.Contains(string(content), c.ID) {
			t.Fatalf("ID %q not a 64-hex substring of the content", c.ID)
		}
		if c.PodUID != "" && (len(c.PodUID) < 32 || len(c.PodUID) > 36 || strings.Trim(c.PodUID, "0123456789abcdef-") != "") {
			t.Fatalf("pod UID %q", c.PodUID)
		}
	})
}

// FuzzParseProc: the status and stat parsers take any content without a
// panic.
func FuzzParseProc(f *testing.F) {
	f.Add([]byte("Name:\tnginx\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\n"))
	f.Add([]byte("1 (a) b) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 3133440 417\n"))
	f.Fuzz(func(t *testing.T, content []byte) {
		if st, err := parseStatus(content); err == nil && (st.Seccomp < 0 || st.SeccompFilters < -1) {
			t.Fatalf("status %+v", st)
		}
		parseStartTime(content)
	})
}
