package procfs

import (
	"os"
	"strconv"
)

// ContainerID is Lookup in the words of the roles that attribute a pid:
// the bare ID of its container, "" for a process that exists outside every
// container, and false for a process gone before the cache knew it.
func (c *Cache) ContainerID(pid int) (string, bool) {
	if cont, ok := c.Lookup(pid); ok {
		return cont.ID, true
	}
	if _, err := os.Stat(c.root + "/" + strconv.Itoa(pid)); err == nil {
		return "", true
	}
	return "", false
}
