package procfs

import (
	"os"
	"strconv"
)

// Scan walks root once and returns every container ID on the node with the
// pids of its processes (thread group leaders; threads share their
// process's cgroup). Processes outside containers are left out; a process
// that exits during the walk is skipped.
func Scan(root string) (map[string][]int, error) {
	out := map[string][]int{}
	err := walk(root, func(pid int, c Container, in bool) {
		if in {
			out[c.ID] = append(out[c.ID], pid)
		}
	})
	return out, err
}

// walk reads the cgroup of every process under root. Processes of one
// container share one Container value (its strings are allocated once).
func walk(root string, fn func(pid int, c Container, in bool)) error {
	d, err := os.Open(root)
	if err != nil {
		return err
	}
	names, err := d.Readdirnames(-1)
	d.Close()
	if err != nil {
		return err
	}
	b := getBuf()
	defer putBuf(b)
	seen := map[string]Container{}
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		n, err := readFile(root+"/"+name+"/cgroup", *b)
		if err != nil {
			if gone(err) {
				continue
			}
			return err
		}
		c, in := parseCgroupInterned((*b)[:n], seen)
		fn(pid, c, in)
	}
	return nil
}

// parseCgroupInterned is ParseCgroup that reuses a Container already seen
// with the same content, so a scan allocates per container, not per process.
func parseCgroupInterned(content []byte, seen map[string]Container) (Container, bool) {
	if c, ok := seen[string(content)]; ok {
		return c, c.ID != ""
	}
	c, ok := ParseCgroup(content)
	seen[string(content)] = c
	return c, ok
}
