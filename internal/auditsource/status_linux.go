package auditsource

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// ErrStatusUnavailable is wrapped by Status when the kernel refuses
// AUDIT_GET: it needs CAP_AUDIT_CONTROL in the initial user and PID
// namespaces. Callers report the kernel's counters as unavailable.
var ErrStatusUnavailable = errors.New("the kernel's audit status is unavailable")

// KernelStatus is the kernel's struct audit_status.
type KernelStatus struct {
	// Enabled is 0 (off), 1 (on) or 2 (locked). Seccomp records reach the
	// multicast group even when it is 0.
	Enabled uint32
	Failure uint32
	// PID is auditd's pid, 0 when none is registered.
	PID          uint32
	RateLimit    uint32
	BacklogLimit uint32
	// Lost counts records the kernel dropped (backlog or rate limit, or
	// allocation failure) before any reader could see them.
	Lost    uint32
	Backlog uint32
}

// Status asks the kernel for its audit status (AUDIT_GET).
func Status() (KernelStatus, error) {
	c, err := netlink.Dial(unix.NETLINK_AUDIT, nil)
	if err != nil {
		return KernelStatus{}, fmt.Errorf("audit status: %w", err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return KernelStatus{}, err
	}
	// No NLM_F_ACK: the kernel answers with the status alone, or an error.
	req := netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(unix.AUDIT_GET), Flags: netlink.Request}}
	msgs, err := c.Execute(req)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ECONNREFUSED) {
			return KernelStatus{}, fmt.Errorf("%w (AUDIT_GET needs CAP_AUDIT_CONTROL in the initial user and PID namespaces): %w", ErrStatusUnavailable, err)
		}
		return KernelStatus{}, fmt.Errorf("audit status: %w", err)
	}
	for _, m := range msgs {
		if m.Header.Type != netlink.HeaderType(unix.AUDIT_GET) {
			continue
		}
		d := m.Data
		if len(d) < 32 {
			return KernelStatus{}, fmt.Errorf("audit status: reply of %d bytes", len(d))
		}
		u := func(i int) uint32 { return binary.NativeEndian.Uint32(d[4*i:]) }
		return KernelStatus{Enabled: u(1), Failure: u(2), PID: u(3), RateLimit: u(4), BacklogLimit: u(5), Lost: u(6), Backlog: u(7)}, nil
	}
	return KernelStatus{}, fmt.Errorf("audit status: no AUDIT_GET in the reply")
}
