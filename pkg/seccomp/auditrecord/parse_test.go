package auditrecord

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// payload is a record this kernel (6.18) wrote, as the netlink payload.
const payload = `audit(1796570658.057:14): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=15664 comm="chroot" exe="/usr/sbin/chroot" sig=0 arch=c000003e syscall=161 compat=0 ip=0x7f8384947be7 code=0x50000`

var want = Record{
	Time: time.Unix(1796570658, 57000000), Serial: 14,
	PID: 15664, UID: 0, GID: 0, AUID: Unset,
	Comm: "chroot", Exe: "/usr/sbin/chroot",
	Arch: 0xc000003e, Syscall: 161, Code: 0x50000,
}

func TestParseForms(t *testing.T) {
	for _, tc := range []struct{ form, line string }{
		{"netlink payload", payload},
		{"payload with NUL", payload + "\x00"},
		{"audit.log", "type=SECCOMP msg=" + payload},
		{"audit.log numeric type", "type=1326 msg=" + payload + "\n"},
		{"audit.log with node", "node=worker-1 type=SECCOMP msg=" + payload},
		{"audit.log enriched", "type=SECCOMP msg=" + payload + "\x1dAUID=\"unset\" UID=\"root\" ARCH=x86_64 SYSCALL=chroot"},
		{"dmesg", "[ 5478.670887] audit: type=1326 " + payload},
		{"kernel log", "audit: type=1326 " + payload},
		{"journalctl -k", "Dec 06 16:57:44 node-1 kernel: audit: type=1326 " + payload},
		{"syslog", "2026-12-06T16:57:44.123456+00:00 node-1 kernel: [ 5478.670887] audit: type=1326 " + payload},
	} {
		t.Run(tc.form, func(t *testing.T) {
			got, err := Parse([]byte(tc.line))
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestParseJournaldAudit(t *testing.T) {
	// journald's audit capture drops the audit(...) header.
	line := `Dec 06 16:57:44 node-1 audit[15664]: SECCOMP auid=4294967295 uid=0 gid=0 ses=4294967295 pid=15664 comm="chroot" exe="/usr/sbin/chroot" sig=0 arch=c000003e syscall=161 compat=0 ip=0x7f8384947be7 code=0x50000`
	got, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	w := want
	w.Time, w.Serial = time.Time{}, 0
	if !equal(got, w) {
		t.Errorf("got  %+v\nwant %+v", got, w)
	}
}

func TestParseFieldsAnyOrderAndOptional(t *testing.T) {
	line := `audit(1796570658.057:14): code=0x50000 syscall=161 arch=c000003e exe="/usr/sbin/chroot" comm="chroot" pid=15664 gid=0 uid=0`
	got, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if !equal(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	// No uid, gid, auid: unset, not root.
	got, err = Parse([]byte(`audit(1.000:1): arch=c000003e syscall=83 code=0x7ffc0000`))
	if err != nil {
		t.Fatal(err)
	}
	if got.UID != Unset || got.GID != Unset || got.AUID != Unset || got.PID != 0 || got.Comm != "" {
		t.Errorf("absent fields: %+v", got)
	}
}

func TestParseSubjects(t *testing.T) {
	for _, subj := range []string{
		`subj=unconfined`,
		`subj=system_u:system_r:container_t:s0:c123,c456`,
		`subj=cri-containerd.apparmor.d (enforce)`,
		`subj=? subj_apparmor=unconfined subj_selinux=system_u:system_r:spc_t:s0`,
	} {
		line := strings.Replace(payload, "ses=4294967295 ", "ses=4294967295 "+subj+" ", 1)
		got, err := Parse([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", subj, err)
		}
		if !equal(got, want) {
			t.Errorf("%s: got %+v", subj, got)
		}
	}
}

func TestParseHexStrings(t *testing.T) {
	// The kernel writes names holding a space, a quote or a control
	// character in upper-case hex, without quotes.
	line := `audit(1796570658.057:14): pid=1 comm=6D7920636F6D6D exe=2F746D702F612022622220632F78 arch=c000003e syscall=83 code=0x50000`
	got, err := Parse([]byte(line))
	if err != nil {
		t.Fatal(err)
	}
	if got.Comm != "my comm" || got.Exe != `/tmp/a "b" c/x` {
		t.Errorf("comm %q exe %q", got.Comm, got.Exe)
	}
	got, err = Parse([]byte(`audit(1.000:1): comm="kworker" exe=(null) arch=c000003e syscall=83 code=0x50000`))
	if err != nil || got.Exe != "" || got.Comm != "kworker" {
		t.Errorf("exe=(null): %+v %v", got, err)
	}
}

func TestParseArchitectures(t *testing.T) {
	for _, tc := range []struct {
		name, fields string
		abi, syscall string
		nr           int
		compat       bool
	}{
		{"x86_64", `arch=c000003e syscall=83 compat=0`, "x86_64", "mkdir", 83, false},
		// A 32-bit process on an x86_64 kernel: its own table, where 39 is
		// mkdir (x86_64's 39 is getpid).
		{"i386", `arch=40000003 syscall=39 compat=1`, "x86", "mkdir", 39, true},
		{"x32", `arch=c000003e syscall=1073741907 compat=1`, "x32", "mkdir", 0x40000000 | 83, true},
		{"aarch64", `arch=c00000b7 syscall=34 compat=0`, "aarch64", "mkdirat", 34, false},
		{"arm", `arch=40000028 syscall=39 compat=1`, "arm", "mkdir", 39, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := Parse([]byte(`audit(1796570658.057:14): pid=7 comm="m" exe="/m" sig=0 ` + tc.fields + ` ip=0x1 code=0x50000`))
			if err != nil {
				t.Fatal(err)
			}
			if r.Syscall != tc.nr || r.Compat != tc.compat {
				t.Errorf("syscall %d compat %v", r.Syscall, r.Compat)
			}
			a, ok := r.ABI()
			if !ok || a.Name != tc.abi {
				t.Fatalf("ABI = %v, %v; want %s", a, ok, tc.abi)
			}
			if n, ok := r.SyscallName(); !ok || n != tc.syscall {
				t.Errorf("SyscallName = %q, %v; want %s", n, ok, tc.syscall)
			}
		})
	}
	r, err := Parse([]byte(`audit(1.000:1): arch=deadbeef syscall=1 code=0x0`))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.ABI(); ok {
		t.Error("unknown arch has an ABI")
	}
	if _, ok := r.SyscallName(); ok {
		t.Error("unknown arch names a syscall")
	}
}

func TestAction(t *testing.T) {
	for code, want := range map[uint32]string{
		0x80000000: "kill_process",
		0x00000000: "kill_thread",
		0x00030000: "trap",
		0x00050000: "errno",
		0x00050001: "errno",
		0x7fc00000: "user_notif",
		0x7ff00000: "trace",
		0x7ffc0000: "log",
		0x7fff0000: "allow",
		0x12340000: "kill_process", // unknown: the kernel kills the process
	} {
		r := Record{Code: code}
		if got := r.Action(); got != want {
			t.Errorf("Action(%#x) = %q, want %q", code, got, want)
		}
	}
}

func TestParseNotSeccomp(t *testing.T) {
	for _, line := range []string{
		``,
		`hello world`,
		`[ 12.3] eth0: link up`,
		`type=SYSCALL msg=audit(1796570658.057:14): arch=c000003e syscall=161 success=no exit=-1`,
		`audit: type=1300 audit(1796570658.057:14): arch=c000003e syscall=161`,
		`type=AVC msg=audit(1.000:1): avc:  denied`,
		`Dec 06 16:57:44 node-1 audit[1]: SYSCALL arch=c000003e syscall=161`,
		`type=PROCTITLE msg=audit(1.000:2): proctitle=6D6B646972`,
	} {
		_, err := Parse([]byte(line))
		if !errors.Is(err, ErrNotSeccomp) {
			t.Errorf("%q: err = %v, want ErrNotSeccomp", line, err)
		}
	}
}

func TestParseMalformed(t *testing.T) {
	for _, tc := range []struct{ line, field string }{
		{`audit(1796570658.057:14): pid=1 arch=c000003e syscall=83`, "code"},
		{`audit(1796570658.057:14): pid=1 syscall=83 code=0x50000`, "arch"},
		{`audit(1796570658.057:14): pid=1 arch=c000003e code=0x50000`, "syscall"},
		{`audit(1796570658.057:14): arch=zz syscall=83 code=0x50000`, "arch"},
		{`audit(1796570658.057:14): arch=1c000003e syscall=83 code=0x50000`, "arch"},
		{`audit(1796570658.057:14): arch=c000003e syscall=8x3 code=0x50000`, "syscall"},
		{`audit(1796570658.057:14): arch=c000003e syscall=83 code=50000`, "code"},
		{`audit(1796570658.057:14): arch=c000003e syscall=83 code=0x`, "code"},
		{`audit(1796570658.057:14): pid=-3 arch=c000003e syscall=83 code=0x0`, "pid"},
		{`audit(1796570658.057:14): uid=root arch=c000003e syscall=83 code=0x0`, "uid"},
		{`audit(1796570658.057:14): compat=2 arch=c000003e syscall=83 code=0x0`, "compat"},
		{`audit(1796570658.057:14): arch=c000003e arch=40000003 syscall=83 code=0x0`, "arch"},
		{`audit(1796570658.057:14): comm="mkd`, "comm"},
		{`audit(1796570658.057:14`, "audit"},
		{`audit(1796570658:14): arch=c000003e syscall=83 code=0x0`, "audit"},
		{`audit(1796570658.0571234567:14): arch=c000003e syscall=83 code=0x0`, "audit"},
		{`audit(x.057:14): arch=c000003e syscall=83 code=0x0`, "audit"},
		{`audit(12/06/2026 16:57:38.057:14) : arch=x86_64 syscall=mkdir code=errno`, "audit"},
		{`type=SECCOMP msg=audit(1796570658.057:14): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=15664 comm="chroot" exe="/usr/sbin/chroot" sig=0 arch=c000003e sysc`, "syscall"},
	} {
		_, err := Parse([]byte(tc.line))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("%q: err = %v, want a FieldError on %s", tc.line, err, tc.field)
		}
	}
	// A seccomp type without a header is malformed, not another type.
	_, err := Parse([]byte(`type=SECCOMP msg=`))
	if err == nil || errors.Is(err, ErrNotSeccomp) {
		t.Errorf("headerless seccomp line: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	r := want
	r.Comm, r.Exe = "a \"b\"\x01", "/x y"
	r.Time = time.Unix(1796570658, 123456789)
	got, err := Parse([]byte(r.String()))
	if err != nil {
		t.Fatalf("%s: %v", r.String(), err)
	}
	if !equal(got, r) {
		t.Errorf("%s\ngot  %+v\nwant %+v", r.String(), got, r)
	}
	if s := want.String(); s != strings.Replace(payload, "ip=0x7f8384947be7", "ip=0x0", 1) {
		t.Errorf("String() = %s", s)
	}
}

func TestParseDoesNotRetainInput(t *testing.T) {
	b := []byte(payload)
	r, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = 'X'
	}
	if r.Comm != "chroot" || r.Exe != "/usr/sbin/chroot" {
		t.Errorf("record changed with its input: %+v", r)
	}
}

func TestParseAllocs(t *testing.T) {
	b := []byte("type=SECCOMP msg=" + payload)
	if _, err := Parse(b); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = Parse(b) }); n != 0 {
		t.Errorf("Parse allocates %v times per record in the steady state", n)
	}
}

func equal(a, b Record) bool {
	ta, tb := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return a == b && ta.Equal(tb) && ta.IsZero() == tb.IsZero()
}
