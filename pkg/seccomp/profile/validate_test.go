package profile

import (
	"reflect"
	"strings"
	"testing"
)

func uintp(v uint) *uint { return &v }

// base is a valid profile the table cases modify.
func base() *Profile {
	return &Profile{
		DefaultAction: ActErrno,
		Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
		Syscalls: []Syscall{
			{Names: []string{"read", "write"}, Action: ActAllow},
			{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(38)},
		},
	}
}

func TestIssueString(t *testing.T) {
	i := Issue{Field: "syscalls[3].names[1]", Value: "fooo", Message: "unknown syscall on x86_64, aarch64", Severity: SeverityError}
	if got, want := i.String(), `syscalls[3].names[1]: "fooo": unknown syscall on x86_64, aarch64`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
	i = Issue{Field: "defaultAction", Message: "missing action"}
	if got, want := i.String(), `defaultAction: missing action`; got != want {
		t.Errorf("String() = %s, want %s", got, want)
	}
}

func TestValidateValidProfile(t *testing.T) {
	if is := Validate(base()); len(is) != 0 {
		t.Errorf("Validate(valid) = %v, want none", is)
	}
}

// TestValidateErrors checks every kind of error: its field path, value and
// message exactly, and that it is the only error.
func TestValidateErrors(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Profile)
		want   string
	}{
		{"missing default action", func(p *Profile) { p.DefaultAction = "" },
			`defaultAction: missing action`},
		{"unknown default action", func(p *Profile) { p.DefaultAction = "SCMP_ACT_DENY" },
			`defaultAction: "SCMP_ACT_DENY": unknown action`},
		{"missing rule action", func(p *Profile) { p.Syscalls[0].Action = "" },
			`syscalls[0].action: missing action`},
		{"unknown rule action", func(p *Profile) { p.Syscalls[1].Action = "SCMP_ACT_EPERM"; p.Syscalls[1].ErrnoRet = nil },
			`syscalls[1].action: "SCMP_ACT_EPERM": unknown action`},
		{"unknown architecture", func(p *Profile) { p.Architectures = append(p.Architectures, "SCMP_ARCH_VAX") },
			`architectures[2]: "SCMP_ARCH_VAX": unknown architecture`},
		{"unknown archMap architecture", func(p *Profile) {
			p.Architectures = nil
			p.ArchMap = []ArchMap{{Arch: "SCMP_ARCH_X86_64", SubArches: []string{"SCMP_ARCH_X86", "SCMP_ARCH_Z80"}}}
		}, `archMap[0].subArchitectures[1]: "SCMP_ARCH_Z80": unknown architecture`},
		{"architectures and archMap", func(p *Profile) {
			p.ArchMap = []ArchMap{{Arch: "SCMP_ARCH_X86_64"}}
		}, `archMap: both architectures and archMap are set; Docker rejects this, use one`},
		{"syscall unknown on every ABI", func(p *Profile) { p.Syscalls[0].Names[1] = "fooo" },
			`syscalls[0].names[1]: "fooo": unknown syscall on x86_64, aarch64`},
		{"syscall unknown on the default ABIs", func(p *Profile) { p.Architectures = nil; p.Syscalls[0].Names[0] = "reed" },
			`syscalls[0].names[0]: "reed": unknown syscall on x86_64, x86, x32, aarch64, arm`},
		{"legacy name unknown", func(p *Profile) { p.Syscalls[1].Names = nil; p.Syscalls[1].Name = "mownt" },
			`syscalls[1].name: "mownt": unknown syscall on x86_64, aarch64`},
		{"empty name", func(p *Profile) { p.Syscalls[0].Names[1] = "" },
			`syscalls[0].names[1]: empty syscall name`},
		{"no names", func(p *Profile) { p.Syscalls[1].Names = nil },
			`syscalls[1].names: no syscall names`},
		{"name not syscall shaped", func(p *Profile) { p.Syscalls[0].Names[0] = "Read(2)" },
			`syscalls[0].names[0]: "Read(2)": not a syscall name (want [a-z0-9_]+)`},
		{"name and names", func(p *Profile) { p.Syscalls[1].Name = "umount2" },
			`syscalls[1].name: "umount2": both name and names are set; Docker rejects this, use names`},
		{"arg index", func(p *Profile) {
			p.Syscalls[1].Args = []Arg{{Index: 0, Op: OpEqualTo}, {Index: 6, Value: 1, Op: OpEqualTo}}
		}, `syscalls[1].args[1].index: "6": argument index out of range 0..5`},
		{"unknown op", func(p *Profile) { p.Syscalls[1].Args = []Arg{{Index: 2, Op: "SCMP_CMP_IN"}} },
			`syscalls[1].args[0].op: "SCMP_CMP_IN": unknown operator`},
		{"missing op", func(p *Profile) { p.Syscalls[1].Args = []Arg{{Index: 2}} },
			`syscalls[1].args[0].op: missing operator`},
		{"errnoRet on ALLOW", func(p *Profile) { p.Syscalls[0].ErrnoRet = uintp(1) },
			`syscalls[0].errnoRet: "1": set on action SCMP_ACT_ALLOW; only SCMP_ACT_ERRNO and SCMP_ACT_TRACE carry data`},
		{"errnoRet too large", func(p *Profile) { p.Syscalls[1].ErrnoRet = uintp(4096) },
			`syscalls[1].errnoRet: "4096": errno out of range 0..4095`},
		{"trace data too large", func(p *Profile) { p.Syscalls[1].Action = ActTrace; p.Syscalls[1].ErrnoRet = uintp(65536) },
			`syscalls[1].errnoRet: "65536": trace message out of range 0..65535`},
		{"defaultErrnoRet without ERRNO", func(p *Profile) { p.DefaultAction = ActKillProcess; p.DefaultErrnoRet = uintp(1) },
			`defaultErrnoRet: "1": set but defaultAction is SCMP_ACT_KILL_PROCESS, not SCMP_ACT_ERRNO`},
		{"defaultErrnoRet too large", func(p *Profile) { p.DefaultErrnoRet = uintp(5000) },
			`defaultErrnoRet: "5000": errno out of range 0..4095`},
		{"unknown flag", func(p *Profile) { p.Flags = []string{FlagLog, "SECCOMP_FILTER_FLAG_FAST"} },
			`flags[1]: "SECCOMP_FILTER_FLAG_FAST": unknown flag (known: ` + strings.Join(KnownFlags, ", ") + `)`},
		{"conflicting unconditional and conditional", func(p *Profile) {
			p.Syscalls = append(p.Syscalls,
				Syscall{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}},
				Syscall{Names: []string{"socket"}, Action: ActErrno, Args: []Arg{{Index: 1, Value: 3, Op: OpEqualTo}}})
		}, `syscalls[3].names[0]: "socket": conflicting rules: syscalls[2] (SCMP_ACT_ALLOW) and syscalls[3] (SCMP_ACT_ERRNO 1) can both match`},
		{"conflicting errnoRet", func(p *Profile) {
			p.Syscalls = append(p.Syscalls,
				Syscall{Names: []string{"ioctl"}, Action: ActErrno, ErrnoRet: uintp(1), Args: []Arg{{Index: 1, Value: 10, Op: OpGreaterEqual}}},
				Syscall{Names: []string{"ioctl"}, Action: ActErrno, ErrnoRet: uintp(22), Args: []Arg{{Index: 1, Value: 20, Op: OpLessEqual}}})
		}, `syscalls[3].names[0]: "ioctl": conflicting rules: syscalls[2] (SCMP_ACT_ERRNO 1) and syscalls[3] (SCMP_ACT_ERRNO 22) can both match`},
		{"bad minKernel", func(p *Profile) { p.Syscalls[0].Includes = &Filter{MinKernel: "4"} },
			`syscalls[0].includes.minKernel: "4": kernel version "4": want <kernel>.<major>, e.g. 4.8`},
		{"unknown includes arch", func(p *Profile) { p.Syscalls[0].Excludes = &Filter{Arches: []string{"pdp11"}} },
			`syscalls[0].excludes.arches[0]: "pdp11": unknown architecture`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.modify(p)
			errs := Validate(p).Errors()
			if len(errs) != 1 || errs[0].String() != tt.want {
				t.Errorf("errors:\n%v\nwant exactly:\n%s", errs, tt.want)
			}
			if only := ValidateErrors(p); !reflect.DeepEqual(only, errs) {
				t.Errorf("ValidateErrors:\n%v\nwant Validate's errors:\n%v", only, errs)
			}
			if err := Validate(p).Err(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Err() = %v, want it to contain %s", err, tt.want)
			}
		})
	}
}

func TestValidateNotes(t *testing.T) {
	tests := []struct {
		name   string
		modify func(p *Profile)
		want   string
	}{
		{"skipped on some ABIs", func(p *Profile) { p.Syscalls[0].Names = append(p.Syscalls[0].Names, "open") },
			`syscalls[0].names[2]: "open": skipped on aarch64 (no such syscall there)`},
		{"known only on other ABIs", func(p *Profile) { p.Syscalls[0].Names = append(p.Syscalls[0].Names, "swapcontext") },
			`syscalls[0].names[2]: "swapcontext": no such syscall on x86_64, aarch64 (only on ppc64le, ppc64, ppc): skipped`},
		{"same name twice in a rule", func(p *Profile) { p.Syscalls[0].Names = append(p.Syscalls[0].Names, "read") },
			`syscalls[0].names[2]: "read": duplicate of syscalls[0].names[0]`},
		{"identical rule", func(p *Profile) {
			r := p.Syscalls[1]
			r.Comment = "again"
			p.Syscalls = append(p.Syscalls, r)
		}, `syscalls[2]: identical to syscalls[1]`},
		{"same rule for a name in two rules", func(p *Profile) {
			p.Syscalls = append(p.Syscalls, Syscall{Names: []string{"close", "write"}, Action: ActAllow})
		}, `syscalls[2].names[1]: "write": duplicate of the rule in syscalls[0]`},
		{"shadowed by unconditional rule", func(p *Profile) {
			p.Syscalls = append(p.Syscalls, Syscall{Names: []string{"read"}, Action: ActErrno, Args: []Arg{{Index: 0, Value: 3, Op: OpEqualTo}}})
		}, `syscalls[2].names[0]: "read": shadowed: the unconditional rule in syscalls[0] (SCMP_ACT_ALLOW) decides this syscall`},
		{"later unconditional rule decides", func(p *Profile) {
			p.Syscalls = append([]Syscall{{Names: []string{"mount"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 3, Op: OpEqualTo}}}}, p.Syscalls...)
		}, `syscalls[0].names[0]: "mount": shadowed: the unconditional rule in syscalls[2] (SCMP_ACT_ERRNO 38) decides this syscall`},
		{"conflict depends on includes", func(p *Profile) {
			p.Syscalls[1].Args = []Arg{{Index: 2, Value: 1, Op: OpMaskedEqual, ValueTwo: 1}}
			p.Syscalls = append(p.Syscalls, Syscall{Names: []string{"mount"}, Action: ActAllow, Includes: &Filter{Caps: []string{"CAP_SYS_ADMIN"}}})
		}, `syscalls[2].names[0]: "mount": verdict SCMP_ACT_ALLOW differs from syscalls[1] (SCMP_ACT_ERRNO 38); includes/excludes decide which applies: validate after Resolve`},
		{"notify without listener", func(p *Profile) { p.Syscalls[1].Action = ActNotify; p.Syscalls[1].ErrnoRet = nil },
			`syscalls[1].action: "SCMP_ACT_NOTIFY": no listenerPath is set; runc refuses SCMP_ACT_NOTIFY without one`},
		{"non-OCI arch spelling", func(p *Profile) { p.Architectures[1] = "arm64" },
			`architectures[1]: "arm64": not the OCI spelling SCMP_ARCH_AARCH64; runc rejects other spellings`},
		{"duplicate flag", func(p *Profile) { p.Flags = []string{FlagLog, FlagLog} },
			`flags[1]: "SECCOMP_FILTER_FLAG_LOG": duplicate of flags[0]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := base()
			tt.modify(p)
			is := Validate(p)
			if errs := is.Errors(); len(errs) != 0 {
				t.Errorf("unexpected errors: %v", errs)
			}
			notes := is.Notes()
			if len(notes) != 1 || notes[0].String() != tt.want {
				t.Errorf("notes:\n%v\nwant exactly:\n%s", notes, tt.want)
			}
			if only := ValidateErrors(p); len(only) != 0 {
				t.Errorf("ValidateErrors: %v, want nothing for a note", only)
			}
		})
	}
}

// Rules with different verdicts that no call can match both are fine:
// CRI-O denies socket(AF_NETLINK, *, NETLINK_AUDIT) and allows other sockets.
func TestValidateDisjointRules(t *testing.T) {
	p := base()
	p.Syscalls = append(p.Syscalls,
		Syscall{Names: []string{"socket"}, Action: ActErrno, Args: []Arg{{Index: 0, Value: 16, Op: OpEqualTo}, {Index: 2, Value: 9, Op: OpEqualTo}}},
		Syscall{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 2, Value: 9, Op: OpNotEqual}}},
		Syscall{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 16, Op: OpNotEqual}}},
		// Same index twice (a range) is allowed.
		Syscall{Names: []string{"personality"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 8, Op: OpGreaterEqual}, {Index: 0, Value: 16, Op: OpLessEqual}}},
	)
	if is := Validate(p); len(is) != 0 {
		t.Errorf("Validate = %v, want nothing", is)
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil).Err(); err == nil || err.Error() != "invalid profile: profile: nil profile" {
		t.Errorf("Validate(nil).Err() = %v", err)
	}
}

func TestIssuesErrMultiple(t *testing.T) {
	p := base()
	p.DefaultAction = ""
	p.Syscalls[0].Names[0] = "fooo"
	err := Validate(p).Err()
	want := "invalid profile: 2 errors:\ndefaultAction: missing action\n" + `syscalls[0].names[0]: "fooo": unknown syscall on x86_64, aarch64`
	if err == nil || err.Error() != want {
		t.Errorf("Err() = %v, want %s", err, want)
	}
}

// On x86 a rule on recvmmsg also applies to socketcall (call 19), as in
// libseccomp and runc: a socketcall rule with another action that can match
// the same call is a conflict, found by the differential test.
func TestValidateMultiplexedConflict(t *testing.T) {
	p := &Profile{
		DefaultAction: ActAllow,
		Architectures: []string{"SCMP_ARCH_X86"},
		Syscalls: []Syscall{
			{Names: []string{"recvmmsg"}, Action: ActErrno, Args: []Arg{{Index: 3, Value: 1, ValueTwo: 1, Op: OpMaskedEqual}}},
			{Names: []string{"socketcall"}, Action: ActTrap, Args: []Arg{{Index: 2, Value: 100, Op: OpLessEqual}}},
		},
	}
	errs := Validate(p).Errors()
	if len(errs) != 1 || errs[0].Field != "syscalls[1].names[0]" ||
		!strings.Contains(errs[0].Message, "conflicting rules: syscalls[0] (SCMP_ACT_ERRNO 1, recvmmsg multiplexed on x86)") {
		t.Fatalf("errors %v, want one conflict naming recvmmsg multiplexed on x86", errs)
	}
	// Disjoint on the call number: socketcall rules for another call do not conflict.
	p.Syscalls[1].Args = []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}
	if errs := Validate(p).Errors(); len(errs) != 0 {
		t.Fatalf("socketcall(SYS_SOCKET) vs recvmmsg: unexpected errors %v", errs)
	}
}
