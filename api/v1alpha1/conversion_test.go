package v1alpha1

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func uintp(v uint) *uint { return &v }

// fullProfile uses every action, operator and flag, errnoRet 0 next to unset
// errnoRet, nil next to empty Args, and argument values that do not fit in
// an int64.
func fullProfile() *profile.Profile {
	p := &profile.Profile{
		DefaultAction:    profile.ActErrno,
		DefaultErrnoRet:  uintp(38),
		Architectures:    []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"},
		Flags:            append([]string(nil), profile.KnownFlags...),
		ListenerPath:     "/run/seccomp-agent.sock",
		ListenerMetadata: "meta=1",
	}
	for i, a := range profile.KnownActions {
		r := profile.Syscall{Names: []string{"read", "write"}, Action: a, Comment: "rule for " + string(a)}
		if a == profile.ActErrno || a == profile.ActTrace {
			r.ErrnoRet = uintp(uint(i % 2)) // 0 must survive as 0, not as unset
		}
		if i%2 == 0 {
			r.Args = []profile.Arg{}
		}
		p.Syscalls = append(p.Syscalls, r)
	}
	for i, op := range profile.KnownOperators {
		p.Syscalls = append(p.Syscalls, profile.Syscall{
			Names:  []string{"ioctl"},
			Action: profile.ActAllow,
			Args: []profile.Arg{
				{Index: uint(i % 6), Value: math.MaxUint64 - uint64(i), ValueTwo: 1 << 63, Op: op},
				{Index: 5, Value: uint64(i), Op: op},
			},
		})
	}
	return p
}

func TestSpecProfileRoundTripIsLossless(t *testing.T) {
	p := fullProfile()
	spec := SpecFromProfile(p)
	got := spec.ToProfile()
	if !reflect.DeepEqual(got, p) {
		t.Fatalf("round trip changed the profile:\n got %s\nwant %s", mustJSON(t, got), mustJSON(t, p))
	}
	if !reflect.DeepEqual(p, fullProfile()) {
		t.Fatal("SpecFromProfile modified its input")
	}
	if spec.Mode != ModeEnforce || spec.BaseProfileName != "" || spec.Disabled {
		t.Errorf("spec extras = mode %q base %q disabled %v, want Enforce, none, false", spec.Mode, spec.BaseProfileName, spec.Disabled)
	}
	// Nil and empty Args must stay apart (DeepEqual above checks it too, but
	// say which one broke).
	if got.Syscalls[0].Args == nil || got.Syscalls[1].Args != nil {
		t.Errorf("Args nil/empty not preserved: rule0 %#v rule1 %#v", got.Syscalls[0].Args, got.Syscalls[1].Args)
	}
}

// TestSpecJSONRoundTrip stores the spec the way the apiserver does (JSON
// decoded with int64 numbers) and checks the profile survives.
func TestSpecJSONRoundTrip(t *testing.T) {
	p := fullProfile()
	spec := SpecFromProfile(p)
	data := mustJSON(t, spec)
	// Values above MaxInt64 must not be written as JSON numbers: the
	// apiserver would turn them into float64.
	if strings.Contains(string(data), "18446744073709551615") {
		t.Errorf("uint64 max written as a number: %s", data)
	}
	var back SeccompProfileSpec
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", data, err)
	}
	if got, want := mustJSON(t, back.ToProfile()), mustJSON(t, p); string(got) != string(want) {
		t.Fatalf("JSON round trip changed the profile:\n got %s\nwant %s", got, want)
	}
	if back.Syscalls[4].ErrnoRet == nil || *back.Syscalls[4].ErrnoRet != 0 {
		t.Errorf("errnoRet 0 lost in JSON: %v", back.Syscalls[4].ErrnoRet)
	}
}

func TestNativeOnlyArchitecturesSurviveDefaulting(t *testing.T) {
	for _, archs := range [][]string{nil, {}} {
		p := &profile.Profile{DefaultAction: profile.ActAllow, Architectures: archs}
		spec := SpecFromProfile(p)
		data := mustJSON(t, spec)
		// An explicit empty list is what keeps the apiserver from applying
		// the amd64+arm64 default, which would widen the profile.
		if !strings.Contains(string(data), `"architectures":[]`) {
			t.Errorf("architectures %#v: spec JSON %s lacks an explicit empty list", archs, data)
		}
		var back SeccompProfileSpec
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if got := back.ToProfile().Architectures; len(got) != 0 {
			t.Errorf("architectures %#v came back as %v, want native only (empty)", archs, got)
		}
	}
}

func TestToProfileAppliesCRDDefaults(t *testing.T) {
	var spec SeccompProfileSpec // as read from a file, never defaulted by an apiserver
	p := spec.ToProfile()
	if p.DefaultAction != profile.ActErrno {
		t.Errorf("default action = %q, want SCMP_ACT_ERRNO", p.DefaultAction)
	}
	want := []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
	if !reflect.DeepEqual(p.Architectures, want) {
		t.Errorf("architectures = %v, want %v", p.Architectures, want)
	}
	if p.DefaultErrnoRet != nil || p.Syscalls != nil || p.Flags != nil {
		t.Errorf("unset fields became set: %+v", p)
	}
}

func TestSpecFromProfileMergesLegacyName(t *testing.T) {
	p := &profile.Profile{DefaultAction: profile.ActErrno, Syscalls: []profile.Syscall{
		{Name: "open", Names: []string{"read"}, Action: profile.ActAllow},
		{Name: "close", Action: profile.ActAllow},
	}}
	spec := SpecFromProfile(p)
	if got := spec.Syscalls[0].Names; !reflect.DeepEqual(got, []string{"read", "open"}) {
		t.Errorf("names = %v, want [read open]", got)
	}
	if got := spec.Syscalls[1].Names; !reflect.DeepEqual(got, []string{"close"}) {
		t.Errorf("names = %v, want [close]", got)
	}
	if got := p.Syscalls[0].Names; !reflect.DeepEqual(got, []string{"read"}) {
		t.Errorf("input modified: names = %v", got)
	}
}

func TestConversionDoesNotAlias(t *testing.T) {
	p := fullProfile()
	spec := SpecFromProfile(p)
	spec.Syscalls[0].Names[0] = "changed"
	*spec.DefaultErrnoRet = 99
	*spec.Syscalls[4].ErrnoRet = 99
	spec.Architectures[0] = "changed"
	spec.Syscalls[10].Args[0].Value = 7
	if !reflect.DeepEqual(p, fullProfile()) {
		t.Fatal("changing the spec changed the profile it came from")
	}
	out := spec.ToProfile()
	out.Syscalls[0].Names[0] = "again"
	*out.DefaultErrnoRet = 1
	out.Flags[0] = "again"
	if spec.Syscalls[0].Names[0] != "changed" || *spec.DefaultErrnoRet != 99 || spec.Flags[0] == "again" {
		t.Fatal("changing ToProfile's result changed the spec")
	}
}

func TestArgValueJSON(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ArgValue
		out  string
	}{
		{`0`, 0, `0`},
		{`2114060288`, 2114060288, `2114060288`},
		{`9223372036854775807`, math.MaxInt64, `9223372036854775807`},
		{`"9223372036854775808"`, 1 << 63, `"0x8000000000000000"`},
		{`"0xFFFFFFFFFFFFFFFF"`, math.MaxUint64, `"0xffffffffffffffff"`},
		{`"0x10"`, 16, `16`},
		{`"42"`, 42, `42`},
	} {
		var v ArgValue
		if err := json.Unmarshal([]byte(tc.in), &v); err != nil {
			t.Errorf("unmarshal %s: %v", tc.in, err)
			continue
		}
		if v != tc.want {
			t.Errorf("unmarshal %s = %d, want %d", tc.in, v, tc.want)
		}
		if out := mustJSON(t, v); string(out) != tc.out {
			t.Errorf("marshal %d = %s, want %s", v, out, tc.out)
		}
	}
	for _, bad := range []string{`-1`, `1.5`, `1e3`, `"0x"`, `"-1"`, `"0x10000000000000000"`, `"18446744073709551616"`, `true`} {
		var v ArgValue
		err := json.Unmarshal([]byte(bad), &v)
		if err == nil {
			t.Errorf("unmarshal %s: accepted as %d, want an error", bad, v)
		} else if !strings.Contains(err.Error(), "argument value") {
			t.Errorf("unmarshal %s: error %q does not name the argument value", bad, err)
		}
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
