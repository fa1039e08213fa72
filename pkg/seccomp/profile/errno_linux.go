package profile

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// errnoNames maps "EPERM" to its number on this host's architecture, as
// CRI-O (containers/common) resolves its symbolic "errno" fields.
var errnoNames = sync.OnceValue(func() map[string]uint {
	m := map[string]uint{}
	for e := 1; e <= MaxErrno; e++ {
		if n := unix.ErrnoName(syscall.Errno(e)); n != "" {
			if _, dup := m[n]; !dup {
				m[n] = uint(e)
			}
		}
	}
	return m
})

func errnoValue(name string) (uint, bool) {
	v, ok := errnoNames()[name]
	return v, ok
}

// ErrnoName names errno n ("EPERM" for 1) as this host's architecture
// numbers them; false when n has no name.
func ErrnoName(n uint) (string, bool) {
	name := unix.ErrnoName(syscall.Errno(n))
	return name, name != ""
}
