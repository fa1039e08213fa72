package profile

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func TestParseDialects(t *testing.T) {
	// One document using every dialect's fields: runc (args, errnoRet,
	// flags, listener), Docker (archMap, legacy name, comment,
	// includes/excludes).
	doc := `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "defaultErrnoRet": 1,
  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchitectures": ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]}],
  "flags": ["SECCOMP_FILTER_FLAG_LOG"],
  "listenerPath": "/run/agent.sock",
  "listenerMetadata": "pod=x",
  "syscalls": [
    {"name": "read", "action": "SCMP_ACT_ALLOW", "comment": "legacy"},
    {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
     "args": [{"index": 0, "value": 4294967295, "valueTwo": 0, "op": "SCMP_CMP_EQ"}],
     "includes": {"caps": ["CAP_SYS_ADMIN"], "arches": ["amd64"], "minKernel": "4.8"},
     "excludes": {"caps": ["CAP_SYS_PTRACE"]}},
    {"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38}
  ]
}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := &Profile{
		DefaultAction:    ActErrno,
		DefaultErrnoRet:  uintp(1),
		ArchMap:          []ArchMap{{Arch: "SCMP_ARCH_X86_64", SubArches: []string{"SCMP_ARCH_X86", "SCMP_ARCH_X32"}}},
		Flags:            []string{FlagLog},
		ListenerPath:     "/run/agent.sock",
		ListenerMetadata: "pod=x",
		Syscalls: []Syscall{
			{Name: "read", Action: ActAllow, Comment: "legacy"},
			{Names: []string{"personality"}, Action: ActAllow,
				Args:     []Arg{{Index: 0, Value: 4294967295, Op: OpEqualTo}},
				Includes: &Filter{Caps: []string{"CAP_SYS_ADMIN"}, Arches: []string{"amd64"}, MinKernel: "4.8"},
				Excludes: &Filter{Caps: []string{"CAP_SYS_PTRACE"}}},
			{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(38)},
		},
	}
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Parse =\n%+v\nwant\n%+v", p, want)
	}
	out, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil || !reflect.DeepEqual(back, p) {
		t.Errorf("round trip: %v\n%s", err, out)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ doc, want string }{
		{"", "parse profile: empty document"},
		{"[1]", `parse profile: line 1, column 1: want a JSON object, found "["`},
		{"\n  null", `parse profile: line 2, column 3: want a JSON object, found "null"`},
		{"{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}\n", "parse profile: line 3, column 16: invalid character '}' looking for beginning of value"},
		{"{\n  \"defaultAction\": 1\n}", "parse profile: line 2, column 20: field defaultAction: cannot use JSON number as specs.LinuxSeccompAction"},
		{"{\"syscalls\": [{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ALLOW\",\n \"args\": [{\"index\": -1}]}]}", "parse profile: line 2, column 22: field syscalls.args.index: cannot use JSON number -1 as uint"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\"", "parse profile: line 1, column 35: unexpected end of JSON input"},
		{"{} x", "parse profile: line 1, column 4: content after the end of the profile (invalid character 'x' after top-level value): runtimes reject the file; a file holds one JSON profile, remove what follows it"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.doc))
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error = %v\nwant %s", tt.doc, err, tt.want)
		}
	}
}

func TestParseStrictUnknownFields(t *testing.T) {
	doc := `{"defaultAction": "SCMP_ACT_ALLOW", "DefaultErrnoRet": null, "seccompVersion": 2,
	  "archMap": [{"architecture": "SCMP_ARCH_X86_64", "subArchs": []}],
	  "syscalls": [{"nmaes": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_EQ", "mask": 3}],
	    "includes": {"kernel": "5.1"}}]}`
	p, is, err := ParseStrict([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultAction != ActAllow {
		t.Errorf("DefaultAction = %q", p.DefaultAction)
	}
	var got []string
	for _, i := range is {
		if i.Severity != SeverityNote {
			t.Errorf("%v: severity %s, want note", i, i.Severity)
		}
		got = append(got, i.String())
	}
	want := []string{
		`archMap[0].subArchs: "subArchs": unknown field, ignored`,
		`seccompVersion: "seccompVersion": unknown field, ignored`,
		`syscalls[0].args[0].mask: "mask": unknown field, ignored`,
		`syscalls[0].includes.kernel: "kernel": unknown field, ignored`,
		`syscalls[0].nmaes: "nmaes": unknown field, ignored`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ParseStrict notes:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Parse ignores them.
	if _, err := Parse([]byte(doc)); err != nil {
		t.Errorf("Parse: %v", err)
	}
}

func TestMarshalStable(t *testing.T) {
	p := &Profile{DefaultAction: ActErrno, Syscalls: []Syscall{{Names: []string{"read"}, Action: ActAllow, Comment: "a<b"}}}
	out, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "defaultAction": "SCMP_ACT_ERRNO",
  "syscalls": [
    {
      "names": [
        "read"
      ],
      "action": "SCMP_ACT_ALLOW",
      "comment": "a<b"
    }
  ]
}
`
	if string(out) != want {
		t.Errorf("Marshal =\n%s\nwant\n%s", out, want)
	}
	if _, err := Marshal(nil); err == nil {
		t.Error("Marshal(nil) succeeded")
	}
}

// Empty lists read as absent, so that the re-encoding parses to the same value.
func TestParseEmptyListsRoundTrip(t *testing.T) {
	doc := `{"defaultAction":"SCMP_ACT_ALLOW","architectures":[],"flags":[],"archMap":[{"architecture":"SCMP_ARCH_X86_64","subArchitectures":[]}],
	"syscalls":[{"names":[],"name":"read","action":"SCMP_ACT_ALLOW","args":[],"includes":{"caps":[],"arches":[]},"excludes":{}}]}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.Architectures != nil || p.Flags != nil || p.ArchMap[0].SubArches != nil || p.Syscalls[0].Names != nil || p.Syscalls[0].Args != nil || p.Syscalls[0].Includes.Caps != nil {
		t.Errorf("empty lists not normalised: %+v", p)
	}
	assertRoundTrip(t, p)
}

func assertRoundTrip(t *testing.T, p *Profile) {
	t.Helper()
	out, err := Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(out)
	if err != nil {
		t.Fatalf("Parse(Marshal(p)): %v\n%s", err, out)
	}
	if !reflect.DeepEqual(back, p) {
		t.Errorf("Parse(Marshal(p)) != p\n%s", out)
	}
	again, err := Marshal(back)
	if err != nil || !bytes.Equal(again, out) {
		t.Errorf("Marshal not stable: %v", err)
	}
}

func TestUpstreamRoundTrip(t *testing.T) {
	for name, data := range upstreamProfiles(t) {
		t.Run(name, func(t *testing.T) {
			p, err := Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Syscalls) < 10 {
				t.Fatalf("only %d rules parsed", len(p.Syscalls))
			}
			assertRoundTrip(t, p)
			_, notes, err := ParseStrict(data)
			if err != nil || len(notes) != 0 {
				t.Errorf("ParseStrict: %v, unknown fields %v", err, notes)
			}
		})
	}
}

// CRI-O writes symbolic errnos next to (or instead of) the numbers; the
// number wins when both are present, as in containers/common.
func TestParseCRIOErrnoNames(t *testing.T) {
	doc := `{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrno": "ENOSYS",
	  "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errno": "EPERM"},
	               {"names": ["umount2"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13, "errno": "EPERM"}]}`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	if p.DefaultErrnoRet == nil || *p.DefaultErrnoRet != 38 {
		t.Errorf("defaultErrnoRet = %v, want 38 (ENOSYS)", p.DefaultErrnoRet)
	}
	if e := p.Syscalls[0].ErrnoRet; e == nil || *e != 1 {
		t.Errorf("syscalls[0].errnoRet = %v, want 1 (EPERM)", e)
	}
	if e := p.Syscalls[1].ErrnoRet; e == nil || *e != 13 {
		t.Errorf("syscalls[1].errnoRet = %v, want 13 (explicit)", e)
	}
	_, err = Parse([]byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mount"], "action": "SCMP_ACT_ERRNO", "errno": "EWHATEVER"}]}`))
	if want := `parse profile: syscalls[0].errno: unknown errno name "EWHATEVER"`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}
