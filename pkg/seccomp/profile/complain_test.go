package profile

import (
	"reflect"
	"testing"
)

func TestComplain(t *testing.T) {
	in := &Profile{
		DefaultAction:   ActErrno,
		DefaultErrnoRet: uintp(38),
		Architectures:   []string{"SCMP_ARCH_X86_64"},
		Syscalls: []Syscall{
			{Names: []string{"read"}, Action: ActAllow},
			{Names: []string{"write"}, Action: ActLog},
			{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(1)},
			{Names: []string{"ptrace"}, Action: ActTrace, ErrnoRet: uintp(7)},
			{Names: []string{"reboot"}, Action: ActKillProcess},
			{Names: []string{"kexec_load"}, Action: ActKill},
			{Names: []string{"bpf"}, Action: ActNotify},
			{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}},
			{Names: []string{"socket"}, Action: ActTrap, Args: []Arg{{Index: 0, Value: 1, Op: OpNotEqual}}},
		},
	}
	orig := in.DeepCopy()
	got := Complain(in)
	want := &Profile{
		DefaultAction: ActLog,
		Architectures: []string{"SCMP_ARCH_X86_64"},
		Syscalls: []Syscall{
			{Names: []string{"read"}, Action: ActAllow},
			{Names: []string{"write"}, Action: ActLog},
			{Names: []string{"mount"}, Action: ActLog},
			{Names: []string{"ptrace"}, Action: ActLog},
			{Names: []string{"reboot"}, Action: ActLog},
			{Names: []string{"kexec_load"}, Action: ActLog},
			{Names: []string{"bpf"}, Action: ActLog},
			{Names: []string{"socket"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}},
			{Names: []string{"socket"}, Action: ActLog, Args: []Arg{{Index: 0, Value: 1, Op: OpNotEqual}}},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Complain =\n%+v\nwant\n%+v", got, want)
	}
	if !reflect.DeepEqual(in, orig) {
		t.Error("Complain modified its input")
	}
	if err := Validate(got).Err(); err != nil {
		t.Errorf("complain profile invalid: %v", err)
	}
	allow := &Profile{DefaultAction: ActAllow, Syscalls: []Syscall{{Names: []string{"mount"}, Action: ActErrno}}}
	if c := Complain(allow); c.DefaultAction != ActAllow || c.Syscalls[0].Action != ActLog {
		t.Errorf("Complain(allow default) = %+v", c)
	}
	if Complain(nil) != nil {
		t.Error("Complain(nil) != nil")
	}
}
