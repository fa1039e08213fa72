package auditsource

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

const (
	// readLogGroup is AUDIT_NLGRP_READLOG, the read-only multicast group
	// (not in x/sys/unix).
	readLogGroup = 1
	// seccompType is AUDIT_SECCOMP.
	seccompType = unix.AUDIT_SECCOMP
	// headerLen is sizeof(struct nlmsghdr).
	headerLen = 16
	// readBufferLen holds any audit datagram: the kernel caps a record at
	// MAX_AUDIT_MESSAGE_LENGTH (8970) bytes.
	readBufferLen = 64 << 10
	// DefaultReceiveBuffer is the socket receive buffer Open asks for.
	DefaultReceiveBuffer = 8 << 20
)

// Options tune Open.
type Options struct {
	// ReceiveBuffer is the socket receive buffer in bytes (0:
	// DefaultReceiveBuffer). Open asks with SO_RCVBUFFORCE, which needs
	// CAP_NET_ADMIN and ignores net.core.rmem_max, and falls back to
	// SO_RCVBUF, which the kernel caps at net.core.rmem_max (and doubles);
	// ReceiveBuffer() reports what the kernel granted.
	ReceiveBuffer int
	// NetNS, when non-zero, is a network namespace fd to open the socket in
	// (tests use it to show other namespaces receive nothing).
	NetNS int
	// keepOthers skips the socket filter that drops other audit types in
	// the kernel (tests use it to see the skip counter work).
	keepOthers bool
}

// Stats are the source's counters since Open; every field only grows.
type Stats struct {
	// Records is the number of seccomp records delivered.
	Records uint64
	// Skipped is the number of other audit records read and dropped. The
	// socket filter drops most in the kernel before they are read, so this
	// normally stays 0.
	Skipped uint64
	// Malformed is the number of netlink messages whose header did not
	// frame a message (a record's own fields are the parser's to judge).
	Malformed uint64
	// Overruns is the number of times the socket overflowed (ENOBUFS):
	// each means one or more records were lost before they were read.
	Overruns uint64
}

// Source is a subscription to the audit multicast group.
type Source struct {
	conn    *netlink.Conn
	granted int
	forced  bool

	records, skipped, malformed, overruns atomic.Uint64
	// closed tells Run that a read failed because Close was called.
	closed atomic.Bool
}

// Open joins the audit multicast group and sizes the receive buffer.
func Open(opts Options) (*Source, error) {
	c, err := netlink.Dial(unix.NETLINK_AUDIT, &netlink.Config{Groups: readLogGroup, NetNS: opts.NetNS})
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("join the audit multicast group (needs CAP_AUDIT_READ): %w", err)
		}
		return nil, fmt.Errorf("join the audit multicast group: %w", err)
	}
	s := &Source{conn: c}
	size := opts.ReceiveBuffer
	if size <= 0 {
		size = DefaultReceiveBuffer
	}
	if err := s.setReceiveBuffer(size); err != nil {
		c.Close()
		return nil, err
	}
	if !opts.keepOthers {
		if err := c.SetBPF(seccompOnly()); err != nil {
			c.Close()
			return nil, fmt.Errorf("attach the seccomp-only socket filter: %w", err)
		}
	}
	return s, nil
}

// setReceiveBuffer tries SO_RCVBUFFORCE, then SO_RCVBUF (the library's
// SetReadBuffer has no force variant, hence the raw setsockopt).
func (s *Source) setReceiveBuffer(size int) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size)
	}); err != nil {
		return err
	}
	s.forced = serr == nil
	if serr != nil {
		if err := s.conn.SetReadBuffer(size); err != nil {
			return fmt.Errorf("set the receive buffer to %d bytes: %w", size, err)
		}
	}
	s.granted, err = s.conn.ReadBuffer()
	return err
}

// seccompOnly is a socket filter that keeps datagrams whose first netlink
// message is AUDIT_SECCOMP (the kernel multicasts one record per datagram),
// so other audit traffic (auditd's syscall rules) neither wakes the reader
// nor fills the buffer seccomp records need.
func seccompOnly() []bpf.RawInstruction {
	// nlmsg_type is host-endian; BPF loads are big-endian.
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], seccompType)
	want := uint32(binary.BigEndian.Uint16(b[:]))
	prog, err := bpf.Assemble([]bpf.Instruction{
		bpf.LoadAbsolute{Off: 4, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: want, SkipFalse: 1},
		bpf.RetConstant{Val: 0xffffffff},
		bpf.RetConstant{Val: 0},
	})
	if err != nil {
		panic(err) // a constant program
	}
	return prog
}

// ReceiveBuffer is the receive buffer the kernel granted, in bytes (the
// kernel doubles what was asked for its bookkeeping), and whether it came
// from SO_RCVBUFFORCE.
func (s *Source) ReceiveBuffer() (bytes int, forced bool) { return s.granted, s.forced }

// Stats returns the counters; safe to call while Run runs.
func (s *Source) Stats() Stats {
	return Stats{
		Records:   s.records.Load(),
		Skipped:   s.skipped.Load(),
		Malformed: s.malformed.Load(),
		Overruns:  s.overruns.Load(),
	}
}

// Close closes the socket; a running Run returns nil.
func (s *Source) Close() error {
	s.closed.Store(true)
	return s.conn.Close()
}

// Run reads until ctx is done (then it returns nil) or the socket fails,
// calling fn with each seccomp record's payload, e.g.
// "audit(1733500000.123:456): auid=... code=0x50000", from the one
// goroutine that calls Run. payload is valid only during the call: fn must
// copy what it keeps. An overrun (ENOBUFS) is counted and reading goes on.
func (s *Source) Run(ctx context.Context, fn func(payload []byte)) error {
	rc, err := s.conn.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = s.conn.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	buf := make([]byte, readBufferLen)
	var n int
	var rerr error
	read := func(fd uintptr) bool {
		// read(2) rather than recvfrom: no source address to allocate.
		n, rerr = unix.Read(int(fd), buf)
		return rerr != unix.EAGAIN
	}
	for {
		if err := rc.Read(read); err != nil {
			if ctx.Err() != nil || s.closed.Load() {
				return nil
			}
			return fmt.Errorf("read audit records: %w", err)
		}
		switch rerr {
		case nil:
			s.dispatch(buf[:n], fn)
		case unix.ENOBUFS:
			s.overruns.Add(1)
		case unix.EINTR:
		default:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("read audit records: %w", rerr)
		}
	}
}

// dispatch walks the netlink messages of one datagram. The header is read
// by hand: audit multicast datagrams carry an nlmsg_len not padded to 4,
// which the standard parsers (syscall.ParseNetlinkMessage, the netlink
// library's) reject.
func (s *Source) dispatch(b []byte, fn func([]byte)) {
	for len(b) > 0 {
		if len(b) < headerLen {
			s.malformed.Add(1)
			return
		}
		l := int(binary.NativeEndian.Uint32(b[0:4]))
		typ := binary.NativeEndian.Uint16(b[4:6])
		if l < headerLen || l > len(b) {
			s.malformed.Add(1)
			return
		}
		if typ == seccompType {
			s.records.Add(1)
			fn(b[headerLen:l])
		} else {
			s.skipped.Add(1)
		}
		next := (l + 3) &^ 3
		if next >= len(b) {
			return
		}
		b = b[next:]
	}
}
