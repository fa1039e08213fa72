package procfs

import (
	"golang.org/x/sys/unix"
)

// ticksPerSecond is USER_HZ, the unit of /proc/<pid>/stat's start time: 100
// on every architecture Linux exports to user space.
const ticksPerSecond = 100

// StartTime is when pid started, in clock ticks after boot (field 22 of
// /proc/<pid>/stat).
func StartTime(root string, pid int) (uint64, error) {
	b := getBuf()
	defer putBuf(b)
	n, err := readFile(procPath(root, pid, "stat"), *b)
	if err != nil {
		return 0, err
	}
	start, ok := parseStartTime((*b)[:n])
	if !ok {
		return 0, errBadStat
	}
	return start, nil
}

// BootTicks is the present on StartTime's clock (CLOCK_BOOTTIME, which
// the kernel's start times count on).
func BootTicks() (uint64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts); err != nil {
		return 0, err
	}
	return uint64(ts.Sec)*ticksPerSecond + uint64(ts.Nsec)/(1e9/ticksPerSecond), nil
}
