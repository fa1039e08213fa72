package profile

import (
	"fmt"
	"reflect"
	"testing"
)

func lookupIn(nodes ...Node) func(string) (Node, bool) {
	m := map[string]Node{}
	for _, n := range nodes {
		m[n.Name] = n
	}
	return func(name string) (Node, bool) { n, ok := m[name]; return n, ok }
}

func TestFlatten(t *testing.T) {
	root := Node{Name: "root", Profile: &Profile{
		DefaultAction:   ActErrno,
		DefaultErrnoRet: uintp(38),
		Architectures:   []string{"SCMP_ARCH_X86_64"},
		Flags:           []string{FlagLog},
		Syscalls: []Syscall{
			{Names: []string{"read", "write", "mount"}, Action: ActAllow},
			{Names: []string{"ptrace"}, Action: ActErrno, ErrnoRet: uintp(1)},
			{Name: "reboot", Action: ActKillProcess},
		},
	}}
	mid := Node{Name: "mid", Base: "root", Profile: &Profile{
		Architectures: []string{"SCMP_ARCH_AARCH64", "SCMP_ARCH_X86_64"},
		Syscalls: []Syscall{
			{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(1)},
			{Names: []string{"reboot"}, Action: ActErrno},
		},
	}}
	leaf := Node{Name: "leaf", Base: "mid", Profile: &Profile{
		DefaultAction: ActLog,
		Flags:         []string{FlagSpecAllow},
		Syscalls: []Syscall{
			{Names: []string{"ptrace", "write"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}},
		},
	}}
	lookup := lookupIn(root, mid, leaf)
	tests := []struct {
		name string
		want *Profile
	}{
		{"root", root.Profile},
		{"mid", &Profile{
			DefaultAction: ActErrno, DefaultErrnoRet: uintp(38),
			Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
			Flags:         []string{FlagLog},
			Syscalls: []Syscall{
				{Names: []string{"read", "write"}, Action: ActAllow},
				{Names: []string{"ptrace"}, Action: ActErrno, ErrnoRet: uintp(1)},
				{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(1)},
				{Names: []string{"reboot"}, Action: ActErrno},
			},
		}},
		{"leaf", &Profile{
			DefaultAction: ActLog, // defaultErrnoRet goes with the base's default action
			Architectures: []string{"SCMP_ARCH_X86_64", "SCMP_ARCH_AARCH64"},
			Flags:         []string{FlagSpecAllow},
			Syscalls: []Syscall{
				{Names: []string{"read"}, Action: ActAllow},
				{Names: []string{"mount"}, Action: ActErrno, ErrnoRet: uintp(1)},
				{Names: []string{"reboot"}, Action: ActErrno},
				{Names: []string{"ptrace", "write"}, Action: ActAllow, Args: []Arg{{Index: 0, Value: 1, Op: OpEqualTo}}},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprintf("%+v %+v %+v", *root.Profile, *mid.Profile, *leaf.Profile)
			got, err := Flatten(tt.name, lookup)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Flatten(%s) =\n%+v\nwant\n%+v", tt.name, got, tt.want)
			}
			if after := fmt.Sprintf("%+v %+v %+v", *root.Profile, *mid.Profile, *leaf.Profile); after != before {
				t.Error("Flatten modified a node")
			}
			if got == root.Profile {
				t.Error("Flatten returned a node's profile, not a copy")
			}
		})
	}
}

func TestFlattenErrors(t *testing.T) {
	p := &Profile{DefaultAction: ActAllow}
	chain := func(n int) []Node {
		var out []Node
		for i := 0; i < n; i++ {
			base := ""
			if i+1 < n {
				base = fmt.Sprintf("p%d", i+1)
			}
			out = append(out, Node{Name: fmt.Sprintf("p%d", i), Base: base, Profile: p})
		}
		return out
	}
	tests := []struct {
		name  string
		nodes []Node
		start string
		want  string
	}{
		{"self cycle", []Node{{Name: "a", Base: "a", Profile: p}}, "a", "flatten a: inheritance cycle a → a"},
		{"cycle", []Node{{Name: "x", Base: "a", Profile: p}, {Name: "a", Base: "b", Profile: p}, {Name: "b", Base: "c", Profile: p}, {Name: "c", Base: "a", Profile: p}}, "x",
			"flatten x: inheritance cycle a → b → c → a"},
		{"missing base", []Node{{Name: "a", Base: "b", Profile: p}, {Name: "b", Base: "gone", Profile: p}}, "a",
			`flatten a: base profile "gone" of "b" not found`},
		{"missing profile", nil, "a", "flatten a: no such profile"},
		{"nil content", []Node{{Name: "a", Base: "b", Profile: p}, {Name: "b"}}, "a", `flatten a: profile "b" has no content`},
		{"too deep", chain(17), "p0", "flatten p0: inheritance deeper than 15 levels"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Flatten(tt.start, lookupIn(tt.nodes...))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error = %v, want %s", err, tt.want)
			}
		})
	}
	// 15 bases are fine.
	if _, err := Flatten("p0", lookupIn(chain(16)...)); err != nil {
		t.Errorf("16-node chain: %v", err)
	}
}
