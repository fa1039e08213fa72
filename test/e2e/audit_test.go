//go:build e2e

package e2e

import (
	"encoding/binary"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// auditSeccomp is the audit record type of a seccomp verdict (AUDIT_SECCOMP).
const auditSeccomp = 1326

// auditReader receives the kernel's audit records from the audit netlink
// multicast group (AUDIT_NLGRP_READLOG), as the agent's enricher does: no
// auditd, no printk rate limit (the kernel log passes about 10 records per
// 5 s without auditd), every record. Needs CAP_AUDIT_READ (root).
type auditReader struct {
	fd      int
	mu      sync.Mutex
	records []string // the text of seccomp records, in order
	done    chan struct{}
}

// readAudit subscribes to the audit multicast group until the test ends.
func readAudit(t *testing.T) *auditReader {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_NETLINK, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, syscall.NETLINK_AUDIT)
	if err != nil {
		t.Fatalf("audit netlink socket: %v", err)
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 8<<20)
	// A receive timeout lets the loop see the end of the test.
	tv := syscall.NsecToTimeval((200 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrNetlink{Family: syscall.AF_NETLINK, Groups: 1}); err != nil {
		syscall.Close(fd)
		t.Fatalf("bind the audit multicast group (CAP_AUDIT_READ): %v", err)
	}
	a := &auditReader{fd: fd, done: make(chan struct{})}
	stop := make(chan struct{})
	go a.loop(stop)
	t.Cleanup(func() {
		close(stop)
		<-a.done
		syscall.Close(fd)
	})
	return a
}

func (a *auditReader) loop(stop chan struct{}) {
	defer close(a.done)
	buf := make([]byte, 1<<16)
	for {
		select {
		case <-stop:
			return
		default:
		}
		n, _, err := syscall.Recvfrom(a.fd, buf, 0)
		if err != nil || n < 16 {
			continue // timeout (EAGAIN), or an overrun (ENOBUFS): this test's records are few
		}
		// One message per multicast datagram; its nlmsg_len is not padded
		// to 4 bytes, which syscall.ParseNetlinkMessage rejects: read the
		// 16-byte header here.
		l := int(binary.NativeEndian.Uint32(buf[0:4]))
		typ := binary.NativeEndian.Uint16(buf[4:6])
		if typ != auditSeccomp {
			continue
		}
		l = min(max(l, 16), n)
		a.mu.Lock()
		a.records = append(a.records, strings.TrimRight(string(buf[16:l]), "\x00\n"))
		a.mu.Unlock()
	}
}

// wait returns the first seccomp record received so far, or within d, that
// holds every one of fields (e.g. `comm="probe"`, "code=0x50000").
func (a *auditReader) wait(d time.Duration, fields ...string) (string, bool) {
	for deadline := time.Now().Add(d); ; time.Sleep(50 * time.Millisecond) {
		a.mu.Lock()
		for _, r := range a.records {
			if hasFields(r, fields) {
				a.mu.Unlock()
				return r, true
			}
		}
		a.mu.Unlock()
		if time.Now().After(deadline) {
			return "", false
		}
	}
}

func hasFields(record string, fields []string) bool {
	words := strings.Fields(record)
	for _, f := range fields {
		found := false
		for _, w := range words {
			if w == f {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
