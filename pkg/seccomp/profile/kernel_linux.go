package profile

import "golang.org/x/sys/unix"

// kernelRelease returns uname -r, or "" if uname fails.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}
