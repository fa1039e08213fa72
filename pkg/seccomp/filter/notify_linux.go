package filter

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompNotif and seccompNotifResp are struct seccomp_notif and struct
// seccomp_notif_resp of include/uapi/linux/seccomp.h (x/sys has the ioctl
// numbers but not the structs).
type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Nr    int32
	Arch  uint32
	IP    uint64
	Args  [6]uint64
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

type denialKey struct {
	arch uint32
	nr   int32
}

// supervisor answers every notification of one filter with CONTINUE and
// counts them. USER_NOTIF is synchronous, so no event can be lost: the
// notified thread waits until it is answered.
type supervisor struct {
	fd      int
	self    string
	resolve func(arch uint32, nr int32) (string, string)
	// record counts the wrapper's syscalls too (RunOptions.Record).
	record bool
	mu     sync.Mutex
	counts map[denialKey]int
	quit   chan struct{}
	done   chan struct{}
}

// attachSupervisor takes a copy of the child's seccomp listener (found in
// /proc/<pid>/fd) with pidfd_getfd and starts answering it.
func attachSupervisor(pid int, self string, resolve func(uint32, int32) (string, string), record bool) (*supervisor, error) {
	fdNum, err := findListener(pid)
	if err != nil {
		return nil, err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("seccomp supervisor: pidfd_open(%d): %w", pid, err)
	}
	defer unix.Close(pidfd)
	fd, err := unix.PidfdGetfd(pidfd, fdNum, 0)
	if err != nil {
		return nil, fmt.Errorf("seccomp supervisor: take the seccomp listener from pid %d: %w (needs ptrace access to the child; kernel >= 5.6)", pid, err)
	}
	s := &supervisor{fd: fd, self: self, resolve: resolve, record: record, counts: map[denialKey]int{}, quit: make(chan struct{}), done: make(chan struct{})}
	go s.loop()
	return s, nil
}

func findListener(pid int) (int, error) {
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return -1, fmt.Errorf("seccomp supervisor: the command exited before its filter was installed: %w", err)
		}
		for _, e := range ents {
			link, err := os.Readlink(filepath.Join(dir, e.Name()))
			if err == nil && strings.Contains(link, "seccomp notify") {
				n, _ := strconv.Atoi(e.Name())
				return n, nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return -1, errors.New("seccomp supervisor: no seccomp listener appeared in the command within 10s")
}

func (s *supervisor) loop() {
	defer close(s.done)
	pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
	idleAfterQuit := 0
	for {
		n, err := unix.Poll(pfd, 50)
		if err != nil && err != unix.EINTR {
			return
		}
		if n == 0 {
			select {
			case <-s.quit:
				// The command has exited; keep answering its
				// descendants until the filter has no users left or
				// nothing has come for a while.
				if idleAfterQuit++; idleAfterQuit >= 4 {
					return
				}
			default:
			}
			continue
		}
		idleAfterQuit = 0
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0 {
				return // no task uses the filter any more
			}
			continue
		}
		s.handleOne()
	}
}

func (s *supervisor) handleOne() {
	var req seccompNotif
	if err := ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req)); err != nil {
		return // ENOENT: the target died before we read it
	}
	// A recorder keeps the wrapper's calls (and saves reading /proc on
	// every notification, which is every syscall there).
	wrapper := !s.record && s.isWrapper(req.Pid)
	resp := seccompNotifResp{ID: req.ID, Flags: unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE}
	// Count the syscall only once our answer is accepted. ENOENT means the
	// notification was withdrawn: the target died, or a signal interrupted
	// the syscall, which the kernel then restarts and notifies again -
	// counting both would report one call twice.
	if err := ioctl(s.fd, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp)); err != nil || wrapper {
		return
	}
	s.mu.Lock()
	s.counts[denialKey{req.Arch, req.Nr}]++
	s.mu.Unlock()
}

// isWrapper reports whether tid is still our own re-executed binary before it
// exec'd the command: its few syscalls (waiting for the supervisor, execve)
// are not the command's. The thread is blocked in the notification, so its
// command line is stable while we look.
func (s *supervisor) isWrapper(tid uint32) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", tid))
	if err != nil {
		return false
	}
	args := bytes.Split(cmdline, []byte{0})
	return len(args) > 1 && string(args[1]) == childMarker
}

func (s *supervisor) stop() {
	close(s.quit)
	<-s.done
	unix.Close(s.fd)
}

// finish waits for the descendants to be done and returns the denials,
// most frequent first.
func (s *supervisor) finish() []Denial {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Denial, 0, len(s.counts))
	for k, c := range s.counts {
		d := Denial{Nr: k.nr, Count: c, Arch: fmt.Sprintf("%#x", k.arch), Syscall: strconv.Itoa(int(k.nr))}
		if s.resolve != nil {
			d.Arch, d.Syscall = s.resolve(k.arch, k.nr)
		}
		out = append(out, d)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Syscall < out[j].Syscall
	})
	return out
}

// finishCalls waits for the descendants to be done and returns every
// notified syscall by (arch, number).
func (s *supervisor) finishCalls() []Call {
	s.stop()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, 0, len(s.counts))
	for k, c := range s.counts {
		out = append(out, Call{Audit: k.arch, Nr: k.nr, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Audit != out[j].Audit {
			return out[i].Audit < out[j].Audit
		}
		return out[i].Nr < out[j].Nr
	})
	return out
}

func ioctl(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return errno
		}
		return nil
	}
}
