package render

import (
	"context"
	"slices"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

func flagsOf(t *testing.T, b []byte) []string {
	t.Helper()
	p, err := profile.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return p.Flags
}

// The operator's SECCOMP_FILTER_FLAG_LOG: added when the profile asks for
// it (logDenials unset or true) and the node's runtime takes flags, in both
// modes; never twice when the profile sets it itself; never added to the
// caller's flattened profile.
func TestRenderAddsTheLogFlag(t *testing.T) {
	for _, c := range []struct {
		name  string
		flags []string
		log   bool
		want  []string
	}{
		{"no flag asked", nil, false, nil},
		{"added", nil, true, []string{profile.FlagLog}},
		{"after the profile's own", []string{profile.FlagSpecAllow}, true, []string{profile.FlagSpecAllow, profile.FlagLog}},
		{"not twice", []string{profile.FlagLog}, true, []string{profile.FlagLog}},
		{"the profile's own kept without", []string{profile.FlagLog}, false, []string{profile.FlagLog}},
	} {
		for _, mode := range []v1alpha1.Mode{v1alpha1.ModeEnforce, v1alpha1.ModeComplain} {
			t.Run(c.name+"/"+string(mode), func(t *testing.T) {
				own := make([]string, len(c.flags), len(c.flags)+4) // spare capacity: an append must not write into it
				copy(own, c.flags)
				p := &profile.Profile{DefaultAction: profile.ActErrno, Flags: own,
					Syscalls: []profile.Syscall{{Names: []string{"read"}, Action: profile.ActAllow}}}
				b, err := Render(mode, p, c.log)
				if err != nil {
					t.Fatal(err)
				}
				if got := flagsOf(t, b); !slices.Equal(got, c.want) {
					t.Errorf("flags %v, want %v", got, c.want)
				}
				if !slices.Equal(p.Flags, c.flags) || slices.Contains(own[:cap(own)], profile.FlagLog) != slices.Contains(c.flags, profile.FlagLog) {
					t.Errorf("Render changed its input's flags: %v", own[:cap(own)])
				}
			})
		}
	}
}

func boolPtr(b bool) *bool { return &b }

// Prepare renders for the node's runtime: with the flag where it takes
// flags and the profile logs denials (the default), without it elsewhere
// or with logDenials false; OtherHash is the other node kind's rendering,
// so the manager counts both as current.
func TestPrepareForTheNodesRuntime(t *testing.T) {
	sp := &v1alpha1.SeccompProfile{}
	sp.Name = "p"
	sp.Spec.DefaultAction = "SCMP_ACT_ERRNO"
	sp.Spec.Syscalls = []v1alpha1.SyscallRule{{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"}}
	prep := func(sp *v1alpha1.SeccompProfile, takes bool) Prepared {
		t.Helper()
		p, err := Prepare(context.Background(), nil, sp, []string{"x86_64"}, takes)
		if err != nil || p.Problem != "" {
			t.Fatal(err, p.Problem)
		}
		node, err := PrepareNode(context.Background(), nil, sp, []string{"x86_64"}, takes)
		if err != nil || node.Hash != p.Hash || string(node.Content) != string(p.Content) || node.OtherHash != "" {
			t.Errorf("PrepareNode(takes=%v): hash %s, other %q; want Prepare's rendering without the other hash (%v)", takes, node.Hash, node.OtherHash, err)
		}
		again, err := Content(context.Background(), nil, sp, takes)
		if err != nil || string(again) != string(p.Content) {
			t.Errorf("Content(takes=%v) differs from Prepare's: %v", takes, err)
		}
		return p
	}

	with, without := prep(sp, true), prep(sp, false)
	if got := flagsOf(t, with.Content); !slices.Equal(got, []string{profile.FlagLog}) {
		t.Errorf("runtime takes flags: %v, want the LOG flag", got)
	}
	if got := flagsOf(t, without.Content); got != nil {
		t.Errorf("runtime refuses flags: %v, want none", got)
	}
	if with.Flags != nil || without.Flags != nil {
		t.Errorf("Flags (the profile's own) %v %v, want none: the operator's flag is not the user's", with.Flags, without.Flags)
	}
	if with.OtherHash != without.Hash || without.OtherHash != with.Hash || with.Hash == without.Hash {
		t.Errorf("hashes: with %s (other %s), without %s (other %s)", with.Hash, with.OtherHash, without.Hash, without.OtherHash)
	}

	off := sp.DeepCopy()
	off.Spec.LogDenials = boolPtr(false)
	a, b := prep(off, true), prep(off, false)
	if flagsOf(t, a.Content) != nil || a.Hash != b.Hash || a.OtherHash != "" || b.OtherHash != "" {
		t.Errorf("logDenials false: flags %v, hashes %s %s, other %q %q; want no flag anywhere, one hash", flagsOf(t, a.Content), a.Hash, b.Hash, a.OtherHash, b.OtherHash)
	}

	own := sp.DeepCopy()
	own.Spec.Flags = []v1alpha1.Flag{profile.FlagLog}
	if p := prep(own, true); p.OtherHash != "" || !slices.Equal(p.Flags, []string{profile.FlagLog}) {
		t.Errorf("the profile sets the flag itself: other hash %q, flags %v; want one rendering", p.OtherHash, p.Flags)
	}
}
