//go:build !linux

package profile

// errnoValue: errno numbers are Linux's; elsewhere CRI-O's symbolic errno
// fields cannot be resolved (Parse then reports them).
func errnoValue(string) (uint, bool) { return 0, false }

// ErrnoName: errno numbers are Linux's; elsewhere they have no names here.
func ErrnoName(uint) (string, bool) { return "", false }
