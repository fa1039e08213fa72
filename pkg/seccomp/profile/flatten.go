package profile

import (
	"fmt"
	"slices"
	"strings"
)

// MaxDepth is the longest inheritance chain Flatten follows (a profile and
// 15 bases), so a misconfigured chain fails fast instead of looping.
const MaxDepth = 15

// Node is one profile in an inheritance tree: Name inherits from Base
// ("" for none).
type Node struct {
	Name, Base string
	Profile    *Profile
}

// Flatten returns the profile named name with its bases (Node.Base, then its
// base, ...) merged in; lookup finds a node by name. It fails on a missing
// profile or base (naming it), a cycle (listing the chain: a → b → a) and a
// chain of more than MaxDepth bases. Nodes are not modified.
//
// Merging a child over its (already flattened) base:
//   - defaultAction, defaultErrnoRet, listenerPath and listenerMetadata: the
//     child's when set, else the base's (defaultErrnoRet only goes with the
//     defaultAction it came with: a child setting defaultAction without
//     defaultErrnoRet does not inherit the base's);
//   - flags: the child's when it has any, else the base's;
//   - architectures: the union, base's first, without duplicates;
//   - archMap: the child's when it has one, else the base's;
//   - syscalls: a syscall named by any child rule is the child's alone — every
//     base rule naming it loses that name (and is dropped when no name is
//     left); the remaining base rules come first, then the child's rules.
//     So a child can turn an ALLOW of its base into an ERRNO (or back)
//     without a conflict, one syscall at a time.
func Flatten(name string, lookup func(name string) (Node, bool)) (*Profile, error) {
	var chain []Node
	seen := map[string]int{}
	for cur := name; cur != ""; {
		if i, loop := seen[cur]; loop {
			names := make([]string, 0, len(chain)+1)
			for _, n := range chain[i:] {
				names = append(names, n.Name)
			}
			names = append(names, cur)
			return nil, fmt.Errorf("flatten %s: inheritance cycle %s", name, strings.Join(names, " → "))
		}
		n, ok := lookup(cur)
		if !ok {
			if len(chain) == 0 {
				return nil, fmt.Errorf("flatten %s: no such profile", name)
			}
			return nil, fmt.Errorf("flatten %s: base profile %q of %q not found", name, cur, chain[len(chain)-1].Name)
		}
		if n.Profile == nil {
			return nil, fmt.Errorf("flatten %s: profile %q has no content", name, cur)
		}
		if len(chain) > MaxDepth {
			return nil, fmt.Errorf("flatten %s: inheritance deeper than %d levels", name, MaxDepth)
		}
		if n.Name == "" {
			n.Name = cur
		}
		seen[cur] = len(chain)
		chain = append(chain, n)
		cur = n.Base
	}
	out := chain[len(chain)-1].Profile.DeepCopy()
	for i := len(chain) - 2; i >= 0; i-- {
		out = merge(out, chain[i].Profile)
	}
	return out, nil
}

// merge lays child over base (see Flatten).
func merge(base, child *Profile) *Profile {
	c := child.DeepCopy()
	out := base.DeepCopy()
	if c.DefaultAction != "" {
		out.DefaultAction = c.DefaultAction
		out.DefaultErrnoRet = c.DefaultErrnoRet
	} else if c.DefaultErrnoRet != nil {
		out.DefaultErrnoRet = c.DefaultErrnoRet
	}
	if c.ListenerPath != "" {
		out.ListenerPath = c.ListenerPath
	}
	if c.ListenerMetadata != "" {
		out.ListenerMetadata = c.ListenerMetadata
	}
	if len(c.Flags) > 0 {
		out.Flags = c.Flags
	}
	if len(c.ArchMap) > 0 {
		out.ArchMap = c.ArchMap
	}
	for _, a := range c.Architectures {
		if !slices.Contains(out.Architectures, a) {
			out.Architectures = append(out.Architectures, a)
		}
	}
	out.Architectures = nilIfEmpty(out.Architectures)
	overridden := map[string]bool{}
	for _, s := range c.Syscalls {
		for _, n := range s.AllNames() {
			overridden[n] = true
		}
	}
	var rules []Syscall
	for _, s := range out.Syscalls {
		var keep []string
		for _, n := range s.Names {
			if !overridden[n] {
				keep = append(keep, n)
			}
		}
		if overridden[s.Name] {
			s.Name = ""
		}
		if len(keep) == 0 && s.Name == "" {
			continue
		}
		s.Names = keep
		rules = append(rules, s)
	}
	out.Syscalls = append(rules, c.Syscalls...)
	if len(out.Syscalls) == 0 {
		out.Syscalls = nil
	}
	return out
}
