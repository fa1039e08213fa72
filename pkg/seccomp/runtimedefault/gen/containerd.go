package main

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// runnerDir is the module (relative to the repository root) that runs
// containerd's DefaultProfile.
const runnerDir = "hack/containerd-seccomp"

// containerdDefaults generates one file per containerd-<version>.mod.
func containerdDefaults(root, out string) ([]entry, error) {
	dir := filepath.Join(root, runnerDir)
	mods, err := filepath.Glob(filepath.Join(dir, "containerd-v*.mod"))
	if err != nil || len(mods) == 0 {
		return nil, fmt.Errorf("containerd: no %s/containerd-v*.mod pins", runnerDir)
	}
	sort.Slice(mods, func(i, j int) bool {
		return versionLess(modVersion(mods[i]), modVersion(mods[j]))
	})
	var es []entry
	for _, mod := range mods {
		e, err := containerdDefault(dir, filepath.Base(mod), out)
		if err != nil {
			return nil, fmt.Errorf("containerd %s: %w", modVersion(mod), err)
		}
		es = append(es, e)
	}
	return es, nil
}

func modVersion(mod string) string {
	return strings.TrimSuffix(strings.TrimPrefix(filepath.Base(mod), "containerd-"), ".mod")
}

// versionLess orders "v1.6.20" < "v1.7.35" < "v2.4.2" numerically.
func versionLess(a, b string) bool {
	pa, pb := strings.Split(strings.TrimPrefix(a, "v"), "."), strings.Split(strings.TrimPrefix(b, "v"), ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, _ := strconv.Atoi(pa[i])
		y, _ := strconv.Atoi(pb[i])
		if x != y {
			return x < y
		}
	}
	return len(pa) < len(pb)
}

func containerdDefault(dir, mod, out string) (entry, error) {
	version := modVersion(mod)
	module := "github.com/containerd/containerd"
	var tags []string
	if !strings.HasPrefix(version, "v1.") {
		module += "/" + strings.SplitN(version, ".", 2)[0]
		tags = []string{"-tags=containerd2"}
	}
	modDir, err := moduleDir(dir, mod, module, "")
	if err != nil {
		return entry{}, err
	}
	tmp, err := os.MkdirTemp("", "containerd-seccomp-")
	if err != nil {
		return entry{}, err
	}
	defer os.RemoveAll(tmp)
	// The module cache is read-only and go -overlay may not touch it: build
	// a copy of the module, with the two hooks, in its place (replace).
	copyDir := filepath.Join(tmp, "containerd")
	if err := copyTree(modDir, copyDir); err != nil {
		return entry{}, err
	}
	hooks, err := addHooks(filepath.Join(copyDir, "contrib", "seccomp"))
	if err != nil {
		return entry{}, err
	}
	runMod := filepath.Join(tmp, "run.mod")
	if err := writeRunMod(filepath.Join(dir, mod), runMod, module, copyDir); err != nil {
		return entry{}, err
	}
	call := func(reqs []request) ([]response, error) {
		in, err := json.Marshal(reqs)
		if err != nil {
			return nil, err
		}
		args := append([]string{"run", "-modfile=" + runMod}, tags...)
		b, err := goCmd(dir, in, append(args, ".")...)
		if err != nil {
			return nil, err
		}
		var resps []response
		if err := json.Unmarshal(b, &resps); err != nil {
			return nil, fmt.Errorf("read runner output: %w", err)
		}
		return resps, nil
	}
	derived, arches, err := deriveContainerd(call, hooks)
	if err != nil {
		return entry{}, err
	}
	data, err := profile.Marshal(derived)
	if err != nil {
		return entry{}, err
	}
	file, err := writeFile(out, "containerd", version, data)
	if err != nil {
		return entry{}, err
	}
	return entry{Runtime: "containerd", Version: version, File: file, Arches: arches,
		Origin: fmt.Sprintf("contrib/seccomp DefaultProfile of Go module %s %s (Apache-2.0), run for each GOARCH, capability and kernel version it tests and written with the conditions that select its rules (see the package doc)", module, version)}, nil
}

// hookInfo is what the overlay found in containerd's source.
type hookInfo struct {
	// goarches are the GOARCH values DefaultProfile's switches name.
	goarches []string
	// caps are the capability names it tests.
	caps []string
}

// addHooks rewrites seccomp_default.go in pkgDir (a copy of containerd's
// contrib/seccomp): every runtime.GOARCH becomes the variable genGOARCH and
// every kernelversion.GreaterEqualThan call genKernelAtLeast; it adds a
// hooks file that declares them and lets the runner set them. Nothing else
// of containerd's code changes.
func addHooks(pkgDir string) (hookInfo, error) {
	src := filepath.Join(pkgDir, "seccomp_default.go")
	data, err := os.ReadFile(src)
	if err != nil {
		return hookInfo{}, err
	}
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, src, data, parser.ParseComments)
	if err != nil {
		return hookInfo{}, err
	}
	kvPath := ""
	for _, im := range f.Imports {
		p, _ := strconv.Unquote(im.Path.Value)
		if strings.HasSuffix(p, "/kernelversion") {
			kvPath = p
		}
	}
	type edit struct {
		from, to int
		text     string
	}
	var edits []edit
	info := hookInfo{}
	seenArch, seenCap := map[string]bool{}, map[string]bool{}
	isSel := func(e ast.Expr, x, sel string) bool {
		s, ok := e.(*ast.SelectorExpr)
		if !ok {
			return false
		}
		id, ok := s.X.(*ast.Ident)
		return ok && id.Name == x && s.Sel.Name == sel
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.SelectorExpr:
			switch {
			case isSel(n, "runtime", "GOARCH"):
				edits = append(edits, edit{fset.Position(n.Pos()).Offset, fset.Position(n.End()).Offset, "genGOARCH"})
			case isSel(n, "kernelversion", "GreaterEqualThan"):
				edits = append(edits, edit{fset.Position(n.Pos()).Offset, fset.Position(n.End()).Offset, "genKernelAtLeast"})
			}
		case *ast.SwitchStmt:
			if !isSel(n.Tag, "runtime", "GOARCH") {
				break
			}
			for _, c := range n.Body.List {
				for _, e := range c.(*ast.CaseClause).List {
					if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
						v, _ := strconv.Unquote(lit.Value)
						if !seenArch[v] {
							seenArch[v] = true
							info.goarches = append(info.goarches, v)
						}
					}
				}
			}
		case *ast.BasicLit:
			if v, err := strconv.Unquote(n.Value); err == nil && n.Kind == token.STRING && strings.HasPrefix(v, "CAP_") && !seenCap[v] {
				seenCap[v] = true
				info.caps = append(info.caps, v)
			}
		}
		return true
	})
	sort.Slice(edits, func(i, j int) bool { return edits[i].from > edits[j].from })
	out := append([]byte(nil), data...)
	for _, e := range edits {
		out = append(out[:e.from], append([]byte(e.text), out[e.to:]...)...)
	}
	// The rewritten file may no longer use "runtime" itself.
	out = append(out, "\nvar _ = runtime.GOOS\n"...)
	hooks := "//go:build linux\n\npackage seccomp\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n"
	if kvPath != "" {
		hooks += fmt.Sprintf("\n\t%q\n", kvPath)
	}
	hooks += ")\n\n" + hooksBody
	if kvPath != "" {
		hooks += hooksKernel
	}
	if err := os.WriteFile(src, out, 0o644); err != nil {
		return hookInfo{}, err
	}
	return info, os.WriteFile(filepath.Join(pkgDir, "gen_hooks.go"), []byte(hooks), 0o644)
}

// copyTree copies the regular files under from to to, writable.
func copyTree(from, to string) error {
	return filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// writeRunMod writes the pinned module file (and its .sum) next to runMod,
// with module replaced by the hooked copy.
func writeRunMod(pinned, runMod, module, copyDir string) error {
	mod, err := os.ReadFile(pinned)
	if err != nil {
		return err
	}
	sum, err := os.ReadFile(strings.TrimSuffix(pinned, ".mod") + ".sum")
	if err != nil {
		return err
	}
	mod = append(mod, fmt.Sprintf("\nreplace %s => %s\n", module, copyDir)...)
	if err := os.WriteFile(runMod, mod, 0o644); err != nil {
		return err
	}
	return os.WriteFile(strings.TrimSuffix(runMod, ".mod")+".sum", sum, 0o644)
}

// hooksBody is added to containerd's package by the overlay.
const hooksBody = `var (
	genGOARCH  = runtime.GOARCH
	genKernel  *[2]uint64
	genQueried [][2]uint64
)

var _ = fmt.Sprint

// GenSet sets the GOARCH and kernel version (nil: unreadable) that
// DefaultProfile sees, and forgets the versions it compared with.
func GenSet(goarch string, kernel *[2]uint64) {
	genGOARCH, genKernel, genQueried = goarch, kernel, nil
}

// GenQueried returns the kernel versions compared with since GenSet.
func GenQueried() [][2]uint64 { return genQueried }
`

// hooksKernel replaces kernelversion.GreaterEqualThan: the comparison is
// kernelversion's (kernel, then major revision); an unreadable version is an
// error, as there.
const hooksKernel = `
func genKernelAtLeast(min kernelversion.KernelVersion) (bool, error) {
	genQueried = append(genQueried, [2]uint64{min.Kernel, min.Major})
	if genKernel == nil {
		return false, fmt.Errorf("kernel version unknown")
	}
	k, m := genKernel[0], genKernel[1]
	return k > min.Kernel || k == min.Kernel && m >= min.Major, nil
}
`

// request and response are the runner's protocol (hack/containerd-seccomp).
type request struct {
	GOARCH string     `json:"goarch"`
	Caps   []string   `json:"caps"`
	Kernel *[2]uint64 `json:"kernel"`
}

type response struct {
	request
	Profile    json.RawMessage `json:"profile"`
	Thresholds [][2]uint64     `json:"thresholds"`
}

// goarchName names a native architecture the way Go (and Docker's
// includes.arches) do: "SCMP_ARCH_X86_64" → "amd64".
func goarchName(arch string) string {
	a, ok := syscalls.Get(arch)
	if !ok {
		return arch
	}
	switch a.Name {
	case "x86_64":
		return "amd64"
	case "aarch64":
		return "arm64"
	case "loongarch64":
		return "loong64"
	case "mipsel64":
		return "mips64le"
	}
	return a.Name
}
