package auditrecord

import "sync/atomic"

// A node's records name few distinct commands and executables, so a small
// cache of their strings makes parsing allocation-free in the steady state
// instead of allocating Comm and Exe for every record. A slot holds the last
// string hashed to it; safe for concurrent Parse calls.
const (
	internSlots  = 1024
	internMaxLen = 256
)

var internTable [internSlots]atomic.Pointer[string]

func intern(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if len(b) > internMaxLen {
		return string(b)
	}
	h := uint32(2166136261) // FNV-1a
	for _, c := range b {
		h ^= uint32(c)
		h *= 16777619
	}
	slot := &internTable[h%internSlots]
	if p := slot.Load(); p != nil && *p == string(b) {
		return *p
	}
	s := string(b)
	slot.Store(&s)
	return s
}
