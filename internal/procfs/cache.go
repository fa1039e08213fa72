package procfs

import (
	"sync"
	"time"
)

// DefaultRevalidate is how long Cache trusts what it last read of a pid.
// The kernel hands out pids cyclically: before a pid can name another
// process, every free pid after it up to pid_max (32768 at the least on a
// 64-bit kernel unless lowered) and from the bottom again must be used up
// first. Thousands of process creations within this window are not a
// workload a node runs, so within it a pid still names the process we read.
const DefaultRevalidate = 100 * time.Millisecond

// DefaultCacheSize bounds the pids a Cache remembers.
const DefaultCacheSize = 16384

// Cache maps pids to containers for attributing seccomp records, including
// records of processes that exited before they were looked up. The rule of
// Lookup(pid):
//
//  1. If the cache read the pid's /proc within the revalidation window (see
//     DefaultRevalidate), that answer stands: no system call.
//  2. Otherwise, if the process exists, the answer comes from /proc: its
//     start time (/proc/<pid>/stat) tells whether it is still the process
//     the cache knew (then the cached container stands) or a new one that
//     reuses the pid (then its cgroup is read again).
//  3. If the process no longer exists, the answer is the container the
//     cache last saw under that pid (from an earlier Lookup or Scan): the
//     record came from that process, which has since exited.
//  4. A pid never seen and not in /proc gives false; the enricher counts
//     the record as unattributed.
//
// A record that waited so long that its pid went to a new process is
// attributed to the new process: /proc holds nothing of the old one. Scan
// narrows step 4 by filling the cache with every process alive at the scan.
// The cache is bounded: it keeps two generations of at most size/2 pids,
// and a pid unseen for two generations is forgotten. Safe for concurrent use.
type Cache struct {
	root       string
	revalidate time.Duration
	half       int
	now        func() time.Time

	mu       sync.Mutex
	cur, old map[int]entry
	buf      []byte
}

type entry struct {
	c          Container
	in         bool // c is a container (else a host process)
	exited     bool // /proc no longer had the pid when last checked
	startKnown bool
	start      uint64 // clock ticks after boot, from /proc/<pid>/stat
	checked    time.Time
}

// NewCache returns a cache of at most size pids (DefaultCacheSize when
// size <= 0) reading root ("/proc", "/host/proc").
func NewCache(root string, size int) *Cache {
	if size <= 0 {
		size = DefaultCacheSize
	}
	half := max(size/2, 1)
	return &Cache{
		root: root, revalidate: DefaultRevalidate, half: half, now: time.Now,
		cur: map[int]entry{}, old: map[int]entry{},
		buf: make([]byte, bufSize),
	}
}

// Len is the number of pids the cache remembers.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.old)
}

// Lookup returns pid's container, by the rule in Cache's doc comment. The
// bool is false for a process outside every container and for a pid the
// cache cannot attribute.
func (c *Cache) Lookup(pid int) (Container, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.get(pid)
	now := c.now()
	if ok && now.Sub(e.checked) < c.revalidate {
		return e.c, e.in
	}
	start, err := c.readStart(pid)
	if err != nil {
		if !ok {
			// Unknown and gone, or unreadable: remember the miss so a
			// stream of records from it does not read /proc per record.
			e = entry{exited: true}
		}
		e.exited, e.checked = true, now
		c.put(pid, e)
		return e.c, e.in
	}
	if ok && !e.exited && e.startKnown && e.start == start {
		e.checked = now
		c.put(pid, e)
		return e.c, e.in
	}
	n, err := readFile(procPath(c.root, pid, "cgroup"), c.buf)
	if err != nil {
		// It exited between the two reads: keep what we knew.
		e.exited, e.checked = true, now
		c.put(pid, e)
		return e.c, e.in
	}
	cont, in := ParseCgroup(c.buf[:n])
	c.put(pid, entry{c: cont, in: in, startKnown: true, start: start, checked: now})
	return cont, in
}

// Scan walks /proc once like the package's Scan and remembers every
// process it saw, so records of processes that exit before their lookup
// are still attributed.
func (c *Cache) Scan() (map[string][]int, error) {
	type seen struct {
		pid int
		c   Container
		in  bool
	}
	var all []seen
	out := map[string][]int{}
	err := walk(c.root, func(pid int, cont Container, in bool) {
		all = append(all, seen{pid, cont, in})
		if in {
			out[cont.ID] = append(out[cont.ID], pid)
		}
	})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	for _, s := range all {
		e, ok := c.get(s.pid)
		if ok && !e.exited && e.in == s.in && e.c == s.c {
			// Same container as known: a reuse within it changes nothing.
			e.checked = now
		} else {
			e = entry{c: s.c, in: s.in, checked: now}
		}
		c.put(s.pid, e)
	}
	return out, nil
}

func (c *Cache) readStart(pid int) (uint64, error) {
	n, err := readFile(procPath(c.root, pid, "stat"), c.buf)
	if err != nil {
		return 0, err
	}
	start, ok := parseStartTime(c.buf[:n])
	if !ok {
		return 0, errBadStat
	}
	return start, nil
}

type statError struct{}

func (statError) Error() string { return "unreadable start time in /proc/<pid>/stat" }

var errBadStat error = statError{}

// get finds pid in either generation; a hit in the old one moves it to the
// current one.
func (c *Cache) get(pid int) (entry, bool) {
	if e, ok := c.cur[pid]; ok {
		return e, true
	}
	if e, ok := c.old[pid]; ok {
		delete(c.old, pid)
		c.put(pid, e)
		return e, true
	}
	return entry{}, false
}

func (c *Cache) put(pid int, e entry) {
	if _, ok := c.cur[pid]; !ok && len(c.cur) >= c.half {
		c.old, c.cur = c.cur, make(map[int]entry, c.half)
	}
	c.cur[pid] = e
}
