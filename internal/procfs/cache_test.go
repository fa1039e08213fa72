package procfs

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"testing"
	"time"
)

// fakeProc is a proc tree in a temporary folder: only the stat and cgroup
// files the package reads.
type fakeProc struct {
	t    *testing.T
	root string
}

func newFakeProc(t *testing.T) *fakeProc { return &fakeProc{t, t.TempDir()} }

func (f *fakeProc) set(pid int, start uint64, cgroup string) {
	f.t.Helper()
	dir := filepath.Join(f.root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Fatal(err)
	}
	stat := fmt.Sprintf("%d (p) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %d 3133440 417\n", pid, start)
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cgroup"), []byte(cgroup), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fakeProc) exit(pid int) {
	if err := os.RemoveAll(filepath.Join(f.root, fmt.Sprint(pid))); err != nil {
		f.t.Fatal(err)
	}
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestCache(root string, size int) (*Cache, *clock) {
	c := NewCache(root, size)
	clk := &clock{time.Unix(1000, 0)}
	c.now = clk.now
	return c, clk
}

func cg(id string) string { return "0::/kubepods/besteffort/pod" + uid + "/" + id + "\n" }

func want(t *testing.T, c *Cache, pid int, id string) {
	t.Helper()
	got, in := c.Lookup(pid)
	if id == "" {
		if in {
			t.Errorf("Lookup(%d) = %+v, want no container", pid, got)
		}
		return
	}
	if !in || got.ID != id || got.PodUID != uid {
		t.Errorf("Lookup(%d) = %+v, %v; want %s", pid, got, in, id[:8])
	}
}

func TestCacheLookupRule(t *testing.T) {
	f := newFakeProc(t)
	c, clk := newTestCache(f.root, 0)
	f.set(100, 5000, cg(id1))
	f.set(101, 5001, "0::/system.slice/kubelet.service\n")

	// Step 2: read from /proc.
	want(t, c, 100, id1)
	want(t, c, 101, "")

	// Step 1: within the window the cached answer stands even if /proc
	// changed under it (no read at all).
	f.set(100, 6000, cg(id2))
	clk.advance(DefaultRevalidate / 2)
	want(t, c, 100, id1)

	// Step 2 after the window: a new start time is a new process reusing
	// the pid; its cgroup is read again.
	clk.advance(DefaultRevalidate)
	want(t, c, 100, id2)

	// Same start time: the same process; its cgroup is not read again.
	f.set(100, 6000, cg(id1))
	clk.advance(2 * DefaultRevalidate)
	want(t, c, 100, id2)

	// Step 3: the process exited: the container last seen under the pid.
	f.exit(100)
	clk.advance(2 * DefaultRevalidate)
	want(t, c, 100, id2)
	want(t, c, 100, id2)

	// And a new process under that pid after the window is read anew.
	f.set(100, 7000, cg(id1))
	clk.advance(2 * DefaultRevalidate)
	want(t, c, 100, id1)

	// Step 4: never seen, not in /proc.
	want(t, c, 555, "")
	// ... and its miss is remembered without changing the answer when it
	// appears within the window; after the window it is read.
	f.set(555, 1, cg(id2))
	want(t, c, 555, "")
	clk.advance(2 * DefaultRevalidate)
	want(t, c, 555, id2)
}

func TestCacheScanAttributesExitedProcesses(t *testing.T) {
	f := newFakeProc(t)
	c, clk := newTestCache(f.root, 0)
	f.set(200, 1, cg(id1))
	f.set(201, 2, cg(id1))
	f.set(202, 3, cg(id2))
	f.set(203, 4, "0::/\n")
	if err := os.Mkdir(filepath.Join(f.root, "self"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := c.Scan()
	if err != nil {
		t.Fatal(err)
	}
	for _, pids := range got {
		sort.Ints(pids)
	}
	if w := map[string][]int{id1: {200, 201}, id2: {202}}; !reflect.DeepEqual(got, w) {
		t.Errorf("Scan = %v, want %v", got, w)
	}
	plain, err := Scan(f.root)
	if err != nil || len(plain) != 2 || len(plain[id1]) != 2 {
		t.Errorf("package Scan = %v, %v", plain, err)
	}
	// Every process exits before its records are looked up.
	for _, pid := range []int{200, 201, 202, 203} {
		f.exit(pid)
	}
	clk.advance(time.Hour)
	want(t, c, 200, id1)
	want(t, c, 201, id1)
	want(t, c, 202, id2)
	want(t, c, 203, "")
}

func TestCacheIsBounded(t *testing.T) {
	f := newFakeProc(t)
	c, _ := newTestCache(f.root, 8)
	for pid := 1; pid <= 50; pid++ {
		c.Lookup(pid) // none exists: remembered misses
		if n := c.Len(); n > 8 {
			t.Fatalf("after %d pids the cache holds %d, bound 8", pid, n)
		}
	}
	// A pid used again is kept while others come and go.
	f.set(7, 1, cg(id1))
	c2, clk := newTestCache(f.root, 8)
	want(t, c2, 7, id1)
	f.exit(7)
	for pid := 1000; pid < 1100; pid++ {
		c2.Lookup(pid)
		if pid%3 == 0 {
			clk.advance(2 * DefaultRevalidate)
			want(t, c2, 7, id1)
		}
	}
}

// TestLookupReal attributes this very process (a host process, or the CI
// runner's container) consistently with CgroupOf.
func TestLookupReal(t *testing.T) {
	c := NewCache("/proc", 0)
	cont, in := c.Lookup(os.Getpid())
	want, win, err := CgroupOf("/proc", os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if cont != want || in != win {
		t.Errorf("Lookup(self) = %+v %v, CgroupOf = %+v %v", cont, in, want, win)
	}
	if _, err := Scan("/proc"); err != nil {
		t.Fatal(err)
	}
}

// ContainerID: a container's process gives its ID, a host process "", a
// pid that never existed false.
func TestCacheContainerID(t *testing.T) {
	f := newFakeProc(t)
	f.set(10, 100, cg(id1))
	f.set(11, 100, "0::/system.slice/sshd.service\n")
	c := NewCache(f.root, 0)
	if id, ok := c.ContainerID(10); !ok || id != id1 {
		t.Errorf("container process: %q %v", id, ok)
	}
	if id, ok := c.ContainerID(11); !ok || id != "" {
		t.Errorf("host process: %q %v", id, ok)
	}
	if id, ok := c.ContainerID(12); ok {
		t.Errorf("no process: %q %v", id, ok)
	}
}
