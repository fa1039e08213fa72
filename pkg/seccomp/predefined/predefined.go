// Package predefined holds the five profiles the product ships (kubelet,
// kube-proxy, webapp, database, system). Their one source of truth is the
// YAML under data/: shared syscall groups by purpose (data/groups.yaml) and
// one file per profile naming the groups it allows, its own extra groups and
// the syscalls it must deny. The plain OCI JSON under profiles/kubernetes/ is
// generated from it (go generate, see gen/) and a unit test keeps both equal.
package predefined

//go:generate go run ./gen -out ../../../profiles/kubernetes

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"

	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

//go:embed data/*.yaml
var dataFS embed.FS

// groupsFile is the file in data/ holding the shared groups; every other
// file is one profile.
const groupsFile = "groups.yaml"

// Architectures every predefined profile covers: both native families the
// product supports and their 32-bit compat ABIs, by name.
var Architectures = []string{
	"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32",
	"SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM",
}

// DenyErrno is the errno of the explicit must-deny rules: EPERM, so callers
// see "operation not permitted" rather than a missing syscall (ENOSYS), which
// some programs would treat as "try the fallback".
const DenyErrno uint = 1

// Predefined is one shipped profile with its metadata.
type Predefined struct {
	// Name is the short name (also the SeccompProfile object name).
	Name string
	// File is the file name under profiles/kubernetes/.
	File string
	// Description says which class of software the profile is for.
	Description string
	// MustDeny lists the syscalls the profile denies with EPERM explicitly.
	MustDeny []string
	// Profile is the OCI profile. Callers get their own copy.
	Profile *profile.Profile
}

// Group is a set of syscalls allowed for one purpose.
type Group struct {
	Name     string   `json:"name"`
	Why      string   `json:"why"`
	Syscalls []string `json:"syscalls"`
}

// source is one profile file under data/.
type source struct {
	Name        string   `json:"name"`
	File        string   `json:"file"`
	Description string   `json:"description"`
	Use         []string `json:"use"`
	Groups      []Group  `json:"groups"`
	MustDeny    []string `json:"mustDeny"`
}

type groupsSource struct {
	Groups []Group `json:"groups"`
}

var (
	loadOnce sync.Once
	loaded   []Predefined
	loadErr  error
)

// All returns every predefined profile, sorted by name. The embedded sources
// are checked by the package's tests, so a load error here is a build defect
// and panics.
func All() []Predefined {
	all, err := load()
	if err != nil {
		panic(err)
	}
	out := make([]Predefined, len(all))
	for i, p := range all {
		out[i] = p.clone()
	}
	return out
}

// Names returns the names of the predefined profiles, sorted.
func Names() []string {
	var out []string
	for _, p := range All() {
		out = append(out, p.Name)
	}
	return out
}

// Get finds a profile by name ("webapp") or by file name, with or without
// a directory ("seccomp-k8s-webapp-profile.json",
// "profiles/kubernetes/seccomp-k8s-webapp-profile.json").
func Get(nameOrFile string) (Predefined, bool) {
	base := path.Base(nameOrFile)
	for _, p := range All() {
		if p.Name == nameOrFile || p.File == base {
			return p, true
		}
	}
	return Predefined{}, false
}

func (p Predefined) clone() Predefined {
	p.MustDeny = append([]string(nil), p.MustDeny...)
	p.Profile = p.Profile.DeepCopy()
	return p
}

func load() ([]Predefined, error) {
	loadOnce.Do(func() { loaded, loadErr = Load(dataFS, "data") })
	return loaded, loadErr
}

// Load builds the profiles from the sources in dir of fsys (the generator
// and tests use it; everyone else uses All).
func Load(fsys fs.FS, dir string) ([]Predefined, error) {
	shared, err := loadShared(fsys, dir)
	if err != nil {
		return nil, err
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("predefined: list sources: %w", err)
	}
	var out []Predefined
	for _, e := range entries {
		if e.Name() == groupsFile || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("predefined: read %s: %w", e.Name(), err)
		}
		p, err := build(e.Name(), data, shared)
		if err != nil {
			return nil, fmt.Errorf("predefined: %s: %w", e.Name(), err)
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// loadShared reads and checks the shared groups.
func loadShared(fsys fs.FS, dir string) (map[string]Group, error) {
	data, err := fs.ReadFile(fsys, path.Join(dir, groupsFile))
	if err != nil {
		return nil, fmt.Errorf("predefined: read shared groups: %w", err)
	}
	var gs groupsSource
	if err := yaml.UnmarshalStrict(data, &gs); err != nil {
		return nil, fmt.Errorf("predefined: parse %s: %w", groupsFile, err)
	}
	shared := map[string]Group{}
	for i, g := range gs.Groups {
		if err := checkGroup(g); err != nil {
			return nil, fmt.Errorf("predefined: %s: groups[%d]: %w", groupsFile, i, err)
		}
		if _, dup := shared[g.Name]; dup {
			return nil, fmt.Errorf("predefined: %s: groups[%d].name: %q defined twice", groupsFile, i, g.Name)
		}
		shared[g.Name] = g
	}
	return shared, nil
}

// Groups returns the allow groups of the named profile in rule order (shared
// groups it uses, then its own), each with its syscalls as written in the
// source, before names already allowed by an earlier group are dropped.
func Groups(name string) ([]Group, error) {
	shared, err := loadShared(dataFS, "data")
	if err != nil {
		return nil, err
	}
	data, err := dataFS.ReadFile("data/" + name + ".yaml")
	if err != nil || name == strings.TrimSuffix(groupsFile, ".yaml") {
		return nil, fmt.Errorf("predefined: no profile named %q", name)
	}
	var src source
	if err := yaml.UnmarshalStrict(data, &src); err != nil {
		return nil, fmt.Errorf("predefined: parse %s.yaml: %w", name, err)
	}
	return resolveGroups(src, shared)
}

func checkGroup(g Group) error {
	if g.Name == "" {
		return fmt.Errorf("name: empty")
	}
	if strings.TrimSpace(g.Why) == "" {
		return fmt.Errorf("group %q: why: empty (say what the syscalls are for)", g.Name)
	}
	if len(g.Syscalls) == 0 {
		return fmt.Errorf("group %q: syscalls: empty", g.Name)
	}
	seen := map[string]bool{}
	for i, s := range g.Syscalls {
		if s == "" || seen[s] {
			return fmt.Errorf("group %q: syscalls[%d]: %q empty or listed twice", g.Name, i, s)
		}
		seen[s] = true
	}
	return nil
}

func resolveGroups(src source, shared map[string]Group) ([]Group, error) {
	var groups []Group
	for i, name := range src.Use {
		g, ok := shared[name]
		if !ok {
			return nil, fmt.Errorf("use[%d]: %q: no such group in %s", i, name, groupsFile)
		}
		groups = append(groups, g)
	}
	for i, g := range src.Groups {
		if err := checkGroup(g); err != nil {
			return nil, fmt.Errorf("groups[%d]: %w", i, err)
		}
		if _, clash := shared[g.Name]; clash {
			return nil, fmt.Errorf("groups[%d].name: %q is a shared group name", i, g.Name)
		}
		groups = append(groups, g)
	}
	return groups, nil
}

func build(fileName string, data []byte, shared map[string]Group) (Predefined, error) {
	var src source
	if err := yaml.UnmarshalStrict(data, &src); err != nil {
		return Predefined{}, fmt.Errorf("parse: %w", err)
	}
	if src.Name == "" || src.Name+".yaml" != fileName {
		return Predefined{}, fmt.Errorf("name: %q must be the source file's name without .yaml", src.Name)
	}
	if !strings.HasSuffix(src.File, ".json") || strings.Contains(src.File, "/") {
		return Predefined{}, fmt.Errorf("file: %q must be a bare *.json file name", src.File)
	}
	if src.Description == "" {
		return Predefined{}, fmt.Errorf("description: empty")
	}
	if len(src.MustDeny) == 0 {
		return Predefined{}, fmt.Errorf("mustDeny: empty")
	}
	groups, err := resolveGroups(src, shared)
	if err != nil {
		return Predefined{}, err
	}
	deny := map[string]bool{}
	for i, s := range src.MustDeny {
		if deny[s] {
			return Predefined{}, fmt.Errorf("mustDeny[%d]: %q listed twice", i, s)
		}
		deny[s] = true
	}

	p := &profile.Profile{
		DefaultAction: profile.ActErrno,
		Architectures: append([]string(nil), Architectures...),
	}
	// A syscall may sit in several groups (capget is read-only in one and
	// part of capability management in another); it is emitted in the first
	// group only, so that no runtime sees the same name twice.
	emitted := map[string]string{}
	for _, g := range groups {
		var names []string
		for _, s := range g.Syscalls {
			if deny[s] {
				return Predefined{}, fmt.Errorf("group %q allows %q, which mustDeny lists", g.Name, s)
			}
			if _, done := emitted[s]; done {
				continue
			}
			emitted[s] = g.Name
			names = append(names, s)
		}
		if len(names) == 0 {
			continue
		}
		p.Syscalls = append(p.Syscalls, profile.Syscall{
			Names:   names,
			Action:  profile.ActAllow,
			Comment: g.Name + ": " + strings.TrimSpace(g.Why),
		})
	}
	errno := DenyErrno
	p.Syscalls = append(p.Syscalls, profile.Syscall{
		Names:    append([]string(nil), src.MustDeny...),
		Action:   profile.ActErrno,
		ErrnoRet: &errno,
		Comment:  "must deny: denied explicitly with EPERM so the denial survives inheritance and merging with allow-all bases",
	})
	return Predefined{
		Name:        src.Name,
		File:        src.File,
		Description: src.Description,
		MustDeny:    append([]string(nil), src.MustDeny...),
		Profile:     p,
	}, nil
}

// JSON renders p as the file shipped under profiles/kubernetes/: indented,
// in the field order of profile.Profile, with a trailing newline.
func JSON(p *profile.Profile) ([]byte, error) {
	return profile.Marshal(p)
}
