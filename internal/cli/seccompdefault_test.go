package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/defaultcheck"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// Usage errors of --seccomp-default are exit 2 with a message, before any
// cluster is read.
func TestAuditSeccompDefaultUsage(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--seccomp-default", "--runtime", "rkt"}, `--runtime: unknown runtime "rkt"`},
		{[]string{"--seccomp-default", "--runtime", "containerd@1.0"}, "no containerd default for version 1.0"},
		{[]string{"--seccomp-default", "--unconfined"}, "--seccomp-default takes -n and --runtime only"},
		{[]string{"--unconfined", "--runtime", "docker"}, "--runtime is for --seccomp-default"},
	} {
		var out, errOut bytes.Buffer
		code := Execute(append([]string{"audit", "--kubeconfig", "/nonexistent"}, c.args...), strings.NewReader(""), &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), c.want) {
			t.Errorf("%v: exit %d, %q; want 2, %q", c.args, code, errOut.String(), c.want)
		}
	}
}

// The human verdict names the refusals that decide it: breaking ones for
// breaks, argument-dependent ones with the values the default allows for
// depends; notes (ENOSYS, ordinary uses) stay out of it.
func TestVerdictString(t *testing.T) {
	ref := func(name string, effect seccompdefault.Effect, always bool, errno string, allowed ...string) seccompdefault.Refusal {
		return seccompdefault.Refusal{Arch: "x86_64", Effect: effect, Refusal: defaultcheck.Refusal{
			Syscall: name, Action: profile.ActErrno, ErrnoName: errno, Always: always, AllowedOnly: allowed}}
	}
	notes := []seccompdefault.Refusal{ref("clone", seccompdefault.EffectCommon, false, "EPERM", "arg0 & 0x7e020000 == 0x0"), ref("clone3", seccompdefault.EffectENOSYS, true, "ENOSYS")}
	for _, c := range []struct {
		verdict seccompdefault.Verdict
		refused []seccompdefault.Refusal
		want    string
	}{
		{seccompdefault.Safe, notes, "safe"},
		{seccompdefault.Breaks, append([]seccompdefault.Refusal{ref("add_key", seccompdefault.EffectBreaks, true, "EPERM")}, notes...), "breaks on add_key (ERRNO(EPERM))"},
		{seccompdefault.Depends, append([]seccompdefault.Refusal{ref("personality", seccompdefault.EffectArguments, false, "EPERM", "arg0 == 0x0 (PER_LINUX)", "arg0 == 0xffffffff (query)")}, notes...),
			"depends on arguments: personality (ERRNO(EPERM) unless arg0 == 0x0 (PER_LINUX) | arg0 == 0xffffffff (query))"},
	} {
		if got := verdictString(seccompdefault.Row{Verdict: c.verdict, Refused: c.refused}); got != c.want {
			t.Errorf("%s: %q, want %q", c.verdict, got, c.want)
		}
	}
}
