package cli

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// Records this kernel wrote (kernel log form), and variants.
const (
	recChrootErrno = `[ 5478.670887] audit: type=1326 audit(1796570658.057:14): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=15664 comm="chroot" exe="/usr/sbin/chroot" sig=0 arch=c000003e syscall=161 compat=0 ip=0x7f8384947be7 code=0x50000`
	// complain mode: a LOG verdict (getppid, x86_64).
	recComplain = `[ 5505.209116] audit: type=1326 audit(1796570684.593:15): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=16465 comm="bpf.test" exe="/tmp/go-build2555907655/b1312/bpf.test" sig=0 arch=c000003e syscall=110 compat=0 ip=0x40ac4e code=0x7ffc0000`
	// a 32-bit process on this x86_64 kernel: i386's 20 is getpid
	// (x86_64's 20 is writev).
	recI386 = `[11408.312568] audit: type=1326 audit(1796576587.697:24): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=1734 comm="i386test" exe="/tmp/i386test" sig=0 arch=40000003 syscall=20 compat=1 ip=0x8051b2e code=0x7ffc0000`
	// an i386 mkdir (39; x86_64's 39 is getpid) denied with an errno,
	// audit.log form with a hex-encoded comm.
	recI386Mkdir = `type=SECCOMP msg=audit(1796576600.100:30): auid=1000 uid=1000 gid=1000 ses=3 subj=unconfined pid=4242 comm=6D6B646972203332 exe="/usr/bin/mkdir32" sig=0 arch=40000003 syscall=39 compat=1 ip=0xf7f1c549 code=0x50000`
	recX32       = `audit(1796576600.200:31): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=77 comm="x32" exe="/x32" sig=0 arch=c000003e syscall=1073741907 compat=1 ip=0x401000 code=0x80000000`
	recArm64     = `Dec 06 16:57:44 node-1 kernel: audit: type=1326 audit(1796576600.300:32): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=88 comm="mkdir" exe="/usr/bin/mkdir" sig=31 arch=c00000b7 syscall=34 compat=0 ip=0xffff8000 code=0x0`
)

// mkdirProfile denies mkdir and mkdirat with EACCES on x86_64 and x86, and
// decides personality by argument.
const mkdirProfile = `{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86","SCMP_ARCH_X32"],
  "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13},
    {"names":["getpid"],"action":"SCMP_ACT_ERRNO"},
    {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]}]}`

func TestExplain(t *testing.T) {
	mkdir := writeFile(t, "mkdir.json", mkdirProfile)
	only64 := writeFile(t, "only64.json", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`)
	complainCRD := writeFile(t, "complain.yaml", `apiVersion: seccomp-operator.dev/v1alpha1
kind: SeccompProfile
metadata: {name: no-chroot}
spec:
  mode: Complain
  defaultAction: SCMP_ACT_ALLOW
  syscalls:
  - names: [getppid]
    action: SCMP_ACT_ERRNO
    errnoRet: 1
`)
	// Docker-style: the architectures come from the archMap entry of the
	// host the record came from, not of the machine running explain.
	archMap := writeFile(t, "archmap.json", `{"defaultAction":"SCMP_ACT_ALLOW","archMap":[
	  {"architecture":"SCMP_ARCH_X86_64","subArchitectures":["SCMP_ARCH_X86","SCMP_ARCH_X32"]},
	  {"architecture":"SCMP_ARCH_AARCH64","subArchitectures":["SCMP_ARCH_ARM"]}],
	  "syscalls":[{"names":["mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":13}]}`)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"x86_64 errno", []string{recChrootErrno},
			[]string{"line 1: 2026-12-06 15:24:18.057 UTC (serial 14)", "chroot (161) on x86_64", "denied with an errno", `pid 15664, comm "chroot", exe "/usr/sbin/chroot", uid 0`}},
		{"x86_64 errno with a predefined profile", []string{recChrootErrno, "--profile", "webapp"},
			[]string{"webapp returns EPERM (1) for chroot on x86_64"}},
		{"complain mode", []string{recComplain},
			[]string{"getppid (110) on x86_64", "action:   log (code=0x7ffc0000): allowed and logged: would have been denied (logged only, complain mode)"}},
		{"complain mode with the enforcing profile", []string{recComplain, "--profile", complainCRD},
			[]string{"no-chroot returns EPERM (1) for getppid on x86_64; the record is from complain mode, where the call went through; this SeccompProfile is in Complain mode"}},
		{"i386 named with the i386 table", []string{recI386},
			[]string{"getpid (20) on x86 (arch=40000003)", "complain mode"}},
		{"i386 errno with the profile's errno", []string{recI386Mkdir, "--profile", mkdir},
			[]string{"mkdir (39) on x86", `comm "mkdir 32"`, "uid 1000", "returns EACCES (13) for mkdir on x86"}},
		{"i386 under a profile without x86", []string{recI386Mkdir, "--profile", only64},
			[]string{"kills the process for mkdir on x86 (the profile does not admit the x86 ABI)"}},
		{"profile allows what the record denied", []string{recChrootErrno, "--profile", mkdir},
			[]string{"allows it for chroot on x86_64; the record's filter denied it, so the process ran under another filter"}},
		{"x32", []string{recX32, "--profile", mkdir},
			[]string{"mkdir (1073741907) on x32", "killed the process (SIGSYS)", "returns EACCES (13) for mkdir on x32; the record says kill_process"}},
		{"aarch64 from the journal", []string{recArm64},
			[]string{"mkdirat (34) on aarch64", "killed the thread"}},
		{"complain-mode record, profile allows", []string{recI386, "--profile", archMap},
			[]string{"allows it for getpid on x86; the record's filter logged it (complain mode or a log rule)"}},
		{"aarch64 with an archMap profile", []string{recArm64, "--profile", archMap},
			[]string{"returns EACCES (13) for mkdirat on aarch64; the record says kill_thread"}},
		{"argument-dependent", []string{strings.Replace(recChrootErrno, "syscall=161", "syscall=135", 1), "--profile", mkdir},
			[]string{"decides personality on x86_64 by its arguments, which the record does not carry: returns EINVAL (22), or allows it"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := run(t, append([]string{"explain"}, tc.args...)...)
			if code != 0 {
				t.Fatalf("exit %d: %s\n%s", code, errOut, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

func TestExplainFile(t *testing.T) {
	log := strings.Join([]string{
		`type=SYSCALL msg=audit(1796570658.057:13): arch=c000003e syscall=161 success=no exit=-1`,
		recChrootErrno,
		"",
		`type=SECCOMP msg=audit(1796570658.057:15): pid=1 arch=c000003e syscall=8x3 code=0x50000`,
		`[ 12.3] eth0: link up`,
		recI386,
		`type=SECCOMP msg=audit(1796570658.057:16): pid=1 comm="trunc`,
	}, "\n")
	f := writeFile(t, "audit.log", log)
	code, out, errOut := run(t, "explain", "--file", f)
	if code != 1 {
		t.Errorf("exit %d with malformed records, want 1", code)
	}
	for _, w := range []string{"line 2:", "line 6:", "2 line(s) skipped"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	for _, w := range []string{`line 4: seccomp audit record: field syscall="8x3"`, "line 7: seccomp audit record: field comm", "2 malformed seccomp record(s)"} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}

	// The same on standard input, as JSON.
	var o, e bytes.Buffer
	code = Execute([]string{"explain", "-", "-o", "json"}, strings.NewReader(log), &o, &e)
	if code != 1 {
		t.Errorf("stdin: exit %d", code)
	}
	var rep explainReport
	if err := json.Unmarshal(o.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, o.String())
	}
	if len(rep.Records) != 2 || rep.Skipped != 2 || len(rep.Malformed) != 2 || rep.Malformed[0].Line != 4 {
		t.Fatalf("report %+v", rep)
	}
	r := rep.Records[1]
	if r.Line != 6 || r.Arch != "x86" || r.Syscall != "getpid" || r.Nr != 20 || r.Action != "log" || r.AuditArch != "0x40000003" || r.Time == nil {
		t.Errorf("i386 record %+v", r)
	}

	// Nothing but other lines: nothing to explain is a failure.
	if code, _, errOut := run(t, "explain", "type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=1"); code != 1 || !strings.Contains(errOut, "no seccomp records") {
		t.Errorf("no records: exit %d, %s", code, errOut)
	}
	if code, _, _ := run(t, "explain"); code != 2 {
		t.Errorf("no input: exit %d, want 2", code)
	}
}

func TestExplainYAMLWithProfile(t *testing.T) {
	mkdir := writeFile(t, "mkdir.json", mkdirProfile)
	code, out, errOut := run(t, "explain", recI386Mkdir, "--profile", mkdir, "-o", "yaml")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, w := range []string{"arch: x86\n", "syscall: mkdir\n", "action: errno\n", "name: EACCES\n", "number: 13\n", "action: SCMP_ACT_ERRNO\n"} {
		if !strings.Contains(out, w) {
			t.Errorf("yaml lacks %q:\n%s", w, out)
		}
	}
}
