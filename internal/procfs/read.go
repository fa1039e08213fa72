package procfs

import (
	"errors"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
)

// bufSize holds any /proc/<pid>/status, stat or cgroup we read: status is
// about 1.5 KiB, a cgroup v1 file one line per hierarchy.
const bufSize = 8 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

func getBuf() *[]byte  { return bufPool.Get().(*[]byte) }
func putBuf(b *[]byte) { bufPool.Put(b) }

func procPath(root string, pid int, file string) string {
	return root + "/" + strconv.Itoa(pid) + "/" + file
}

// errTooLarge: a file that does not fit the buffer is not one we can parse
// whole; reading half of a cgroup file could name the wrong container.
var errTooLarge = errors.New("file larger than the read buffer")

// readFile reads a whole proc file into buf with raw system calls (no
// os.File, whose poller registration costs more than the read).
func readFile(path string, buf []byte) (int, error) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	n := 0
	for {
		if n == len(buf) {
			return 0, &os.PathError{Op: "read", Path: path, Err: errTooLarge}
		}
		m, err := syscall.Read(fd, buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &os.PathError{Op: "read", Path: path, Err: err}
		}
		if m == 0 {
			return n, nil
		}
		n += m
	}
}

// gone says whether err means the process no longer exists (its /proc
// directory vanished, or it died between open and read).
func gone(err error) bool {
	return errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ESRCH) || errors.Is(err, io.EOF)
}

// CgroupOf reads <root>/<pid>/cgroup and parses it with ParseCgroup.
func CgroupOf(root string, pid int) (Container, bool, error) {
	b := getBuf()
	defer putBuf(b)
	n, err := readFile(procPath(root, pid, "cgroup"), *b)
	if err != nil {
		return Container{}, false, err
	}
	c, ok := ParseCgroup((*b)[:n])
	return c, ok, nil
}
