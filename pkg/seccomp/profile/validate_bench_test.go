package profile

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// largeProfile is n rules as a flattened inheritance chain can hold them
// (16 levels of up to 1,024 rules): an ioctl allow list of request numbers
// with some of them denied (one group of n*7/8 argument rules with two
// verdicts and no unconditional rule, the costliest shape for the overlap
// checks) and, every eighth rule, an unconditional rule for one of the
// other syscalls (the same rule again after 350 or so: identical to the
// first, as merged chains repeat a base's rules). Checked on the five
// default ABIs.
func largeProfile(n int) *Profile {
	var others []string
	for _, s := range syscalls.MustGet("x86_64").Syscalls() {
		if s.Name != "ioctl" {
			others = append(others, s.Name)
		}
	}
	p := &Profile{DefaultAction: ActErrno}
	for i := range n {
		if i%8 == 7 {
			p.Syscalls = append(p.Syscalls, Syscall{Names: []string{others[(i/8)%len(others)]}, Action: ActAllow, Comment: strconv.Itoa(i)})
			continue
		}
		r := Syscall{Names: []string{"ioctl"}, Action: ActAllow, Args: []Arg{{Index: 1, Value: uint64(0x5400 + i), Op: OpEqualTo}}}
		if i%3 == 0 {
			r.Action, r.ErrnoRet = ActErrno, uintp(uint(1+i%100))
		}
		p.Syscalls = append(p.Syscalls, r)
	}
	return p
}

// BenchmarkValidate validates profiles of 1,024 rules (one object's
// maximum) and 16,384 (a flattened chain's), as the webhook (Validate)
// and the agents (ValidateErrors) do.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{1024, 16384} {
		p := largeProfile(n)
		if errs := Validate(p).Errors(); len(errs) != 0 {
			b.Fatalf("largeProfile(%d) has errors: %v", n, errs[0])
		}
		b.Run(fmt.Sprintf("rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				Validate(p)
			}
		})
		b.Run(fmt.Sprintf("errors-only/rules=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ValidateErrors(p)
			}
		})
	}
}
