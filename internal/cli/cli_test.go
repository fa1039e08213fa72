package cli

import (
	"bytes"
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/seccomp-operator/seccomp-operator/internal/auditsource"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/auditrecord"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/bpf"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/filter"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// TestMain lets `run` re-execute the test binary as the filter's child.
func TestMain(m *testing.M) {
	filter.MaybeRunChild()
	os.Exit(m.Run())
}

// run executes seccompctl in-process and returns its exit code and output.
func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Execute(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidate(t *testing.T) {
	if code, out, _ := run(t, "validate", "webapp"); code != 0 || !strings.Contains(out, "webapp: valid") {
		t.Fatalf("validate webapp: code %d\n%s", code, out)
	}
	bad := writeFile(t, "bad.json", `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
	  "syscalls":[{"names":["read","fooo"],"action":"SCMP_ACT_ALLOW","errnoRet":1}]}`)
	code, out, _ := run(t, "validate", bad)
	if code != 1 {
		t.Fatalf("validate invalid profile: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{`syscalls[0].names[1]: "fooo"`, "syscalls[0].errnoRet", "invalid: 2 errors"} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "validate", "-o", "json", bad)
	if code != 1 || !strings.Contains(out, `"valid": false`) || !strings.Contains(out, `"field": "syscalls[0].names[1]"`) {
		t.Errorf("validate -o json: exit %d\n%s", code, out)
	}
}

func TestUnknownProfile(t *testing.T) {
	code, _, errOut := run(t, "compile", "webap")
	if code != 2 || !strings.Contains(errOut, `unknown profile "webap": not a file and not a predefined profile (`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestCompileRaw(t *testing.T) {
	code, out, errOut := run(t, "compile", "database", "--arch", "x86_64", "--format", "raw")
	if code != 0 {
		t.Fatalf("compile raw: exit %d: %s", code, errOut)
	}
	p, _ := predefined.Get("database")
	r, err := profile.Resolve(p.Profile, profile.DefaultEnv("x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	prog, err := bpf.Compile(r, bpf.Options{Arch: "x86_64"})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 8*len(prog.Instructions) {
		t.Fatalf("raw output is %d bytes, want 8 × %d instructions", len(out), len(prog.Instructions))
	}
	b := []byte(out)
	for i, in := range prog.Instructions {
		got := [4]uint32{uint32(binary.LittleEndian.Uint16(b[8*i:])), uint32(b[8*i+2]), uint32(b[8*i+3]), binary.LittleEndian.Uint32(b[8*i+4:])}
		if got != [4]uint32{uint32(in.Op), uint32(in.Jt), uint32(in.Jf), in.K} {
			t.Fatalf("instruction %d: raw %v, program %+v", i, got, in)
		}
	}
	code, out, _ = run(t, "compile", "database")
	if code != 0 || !strings.Contains(out, "instructions, ABIs: x86_64 x86 x32") {
		t.Errorf("compile disasm: exit %d\n%s", code, out)
	}
}

func TestSimulate(t *testing.T) {
	for _, tc := range []struct{ sc, want string }{
		{"ptrace", "SCMP_ACT_ERRNO(1)"},
		{"read", "SCMP_ACT_ALLOW"},
		{"0", "SCMP_ACT_ALLOW"}, // read by number
	} {
		code, out, errOut := run(t, "simulate", "webapp", "--arch", "x86_64", "--syscall", tc.sc)
		if code != 0 || !strings.Contains(out, tc.want) {
			t.Errorf("simulate %s: exit %d, %q %q; want %s", tc.sc, code, out, errOut, tc.want)
		}
	}
	code, out, _ := run(t, "simulate", "webapp", "--abi", "x86", "--syscall", "ptrace", "-o", "json")
	if code != 0 || !strings.Contains(out, `"abi": "x86"`) || !strings.Contains(out, `"action": "SCMP_ACT_ERRNO"`) {
		t.Errorf("simulate --abi x86: exit %d\n%s", code, out)
	}
}

func TestDiff(t *testing.T) {
	code, out, errOut := run(t, "diff", "webapp", "system", "-o", "json")
	if code != 0 {
		t.Fatalf("diff: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, `"ptrace"`) {
		t.Fatalf("diff webapp system does not list ptrace (allowed only by system):\n%s", out)
	}
	code, out, _ = run(t, "diff", "webapp", "webapp")
	if code != 0 || strings.Count(out, "same verdicts") != 3 {
		t.Errorf("diff of a profile with itself: exit %d\n%s", code, out)
	}
}

func TestConvertRoundTrip(t *testing.T) {
	p, _ := predefined.Get("webapp")
	want, err := profile.Marshal(p.Profile)
	if err != nil {
		t.Fatal(err)
	}
	in := writeFile(t, "web.json", string(want))
	code, crd, errOut := run(t, "convert", in, "--name", "web")
	if code != 0 || !strings.Contains(crd, "kind: SeccompProfile") || !strings.Contains(crd, "name: web") {
		t.Fatalf("convert to crd: exit %d %s\n%s", code, errOut, crd)
	}
	back := writeFile(t, "web.yaml", crd)
	code, js, errOut := run(t, "convert", back)
	if code != 0 {
		t.Fatalf("convert to json: exit %d %s", code, errOut)
	}
	if js != string(want) {
		t.Errorf("JSON → CRD → JSON changed the profile:\n%s\nwant\n%s", js, want)
	}
}

// TestRunLogAuditsDenials: with --log the profile is enforced and the kernel
// writes an audit record (type=1326, code 0x50000 = SECCOMP_RET_ERRNO) for the
// denial, which is what make up relies on to count the kubelet's denials.
func TestRunLogAuditsDenials(t *testing.T) {
	// The records are read from the audit multicast group, which loses
	// none: the kernel log is rate limited (10 records per 5 s), and a
	// burst of another package's tests running alongside used it up.
	src, err := auditsource.Open(auditsource.Options{})
	if err != nil {
		t.Skipf("audit multicast group not readable (needs CAP_AUDIT_READ): %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	records := make(chan auditrecord.Record, 1024)
	done := make(chan error, 1)
	go func() {
		done <- src.Run(ctx, func(p []byte) {
			if r, err := auditrecord.Parse(p); err == nil && r.Comm == "chroot" {
				select {
				case records <- r:
				default:
				}
			}
		})
	}()
	defer func() {
		cancel()
		_ = src.Close()
		<-done
	}()
	if code, _, _ := run(t, "run", "--complain", "--log", "--profile", "webapp", "--", "true"); code != 2 {
		t.Errorf("--complain --log: exit %d, want 2 (usage error)", code)
	}
	code, _, _ := run(t, "run", "--log", "--profile", "webapp", "--", "chroot", "/", "true")
	if code == 0 {
		t.Fatal("chroot succeeded under webapp with --log")
	}
	timeout := time.After(5 * time.Second)
	for {
		select {
		case r := <-records:
			if r.Syscall != unix.SYS_CHROOT {
				continue
			}
			if r.Action() != "errno" {
				t.Errorf("audit record of chroot is not an ERRNO denial: %s", r.String())
			}
			return
		case <-timeout:
			t.Fatalf("no type=1326 record for chroot (syscall=%d) within 5 s", unix.SYS_CHROOT)
		}
	}
}
