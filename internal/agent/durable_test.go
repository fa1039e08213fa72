package agent

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// op is one traced file-system call (see traceOp).
type op struct{ kind, path, from string }

// recordOps records the installer's traced calls until the test ends.
func recordOps(t *testing.T) func() []op {
	t.Helper()
	var mu sync.Mutex
	var ops []op
	traceOp = func(kind, path, from string) {
		mu.Lock()
		ops = append(ops, op{kind, path, from})
		mu.Unlock()
	}
	t.Cleanup(func() { traceOp = nil })
	return func() []op {
		mu.Lock()
		defer mu.Unlock()
		out := ops
		ops = nil
		return out
	}
}

// checkDurable holds the calls one installer call made (Sync, Install,
// Remove) to a power-loss model: a file's data survive only if fsynced, a
// directory entry (create, rename, link, remove, mkdir) only once its
// directory is fsynced. When the call returns, what it did must survive:
//   - a file is renamed or linked into place only after it was fsynced
//     (else a crash can publish an empty or partial profile);
//   - every entry it changed is flushed by an fsync of its directory
//     before it returns (else a crash can bring back a removed profile or
//     lose an installed one), except removals of its own temporary files,
//     which the next complete Sync removes again;
//   - a path outside OperatorDir is claimed in the marker durably before
//     its file is created (else a crash leaves a file nobody knows is ours,
//     which the installer then takes for an administrator's).
func checkDurable(what string, ops []op, operatorDir string) []string {
	var problems []string
	errorf := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	fsynced := map[string]bool{}
	pending := map[string]string{} // directory -> the entry change not yet flushed
	markerDurable := false
	markerPending := false
	for k, o := range ops {
		dir := filepath.Dir(o.path)
		switch o.kind {
		case "fsync":
			fsynced[o.path] = true
		case "fsyncdir":
			delete(pending, o.path)
			if o.path == operatorDir && markerPending {
				markerDurable, markerPending = true, false
			}
		case "rename", "link":
			if !fsynced[o.from] {
				errorf("%s: op %d %s %s -> %s: the file was not fsynced before it was published", what, k, o.kind, o.from, o.path)
			}
			pending[dir] = o.kind + " " + o.path
			if filepath.Base(o.path) == markerName {
				markerPending = true
			}
			rel, _ := filepath.Rel(filepath.Dir(operatorDir), o.path)
			if o.kind == "link" && !strings.HasPrefix(rel, nodepath.OperatorDir+string(filepath.Separator)) && !markerDurable {
				errorf("%s: op %d: %s created before the marker claiming it was durable", what, k, o.path)
			}
		case "remove":
			if !strings.HasPrefix(filepath.Base(o.path), TempPrefix) {
				pending[dir] = "remove " + o.path
			}
		case "mkdir":
			pending[filepath.Dir(o.path)] = "mkdir " + o.path
		default:
			errorf("%s: op %d: unknown op %q", what, k, o.kind)
		}
	}
	for dir, change := range pending {
		errorf("%s: returned with %q not flushed (no fsync of %s after it)", what, change, dir)
	}
	return problems
}

// TestInstallerWritesSurvivePowerLoss checks the order of the installer's
// file-system calls against a power-loss model (checkDurable). The crash
// tests (crash_test.go, test/integration/agent_crash_test.go) kill the
// process, which loses nothing the kernel already has: they pass with
// every fsync removed. This test fails when any one of them is.
func TestInstallerWritesSurvivePowerLoss(t *testing.T) {
	in := newInstaller(t)
	ops := recordOps(t)
	opDir := in.operatorDir()
	a, b := profilePath("a"), profilePath("b")

	steps := []struct {
		what string
		do   func() error
	}{
		{"first Sync (creates directories, claims the alias)", func() error {
			_, err := in.Sync(map[string][]byte{a: []byte("a1"), b: []byte("b1"), webappAlias: []byte("w1")}, nil)
			return err
		}},
		{"Sync rewriting files", func() error {
			_, err := in.Sync(map[string][]byte{a: []byte("a2"), b: []byte("b1"), webappAlias: []byte("w2")}, nil)
			return err
		}},
		{"Sync removing files", func() error {
			_, err := in.Sync(map[string][]byte{a: []byte("a2")}, nil)
			return err
		}},
		{"Install of the alias", func() error {
			_, err := in.Install(webappAlias, []byte("w3"))
			return err
		}},
		{"Install rewriting", func() error {
			_, err := in.Install(a, []byte("a3"))
			return err
		}},
		{"Remove of the alias", func() error { return in.Remove(webappAlias) }},
		{"Remove", func() error { return in.Remove(a) }},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		got := ops()
		if len(got) == 0 {
			t.Fatalf("%s: no file-system call traced", s.what)
		}
		for _, p := range checkDurable(s.what, got, opDir) {
			t.Error(p)
		}
	}

	// The model itself: each rule catches what it is for.
	bad := [][]op{
		{{"rename", filepath.Join(opDir, "a.json"), "tmp"}, {"fsyncdir", opDir, ""}},
		{{"fsync", "tmp", ""}, {"rename", filepath.Join(opDir, "a.json"), "tmp"}},
		{{"mkdir", opDir, ""}},
		{{"remove", filepath.Join(opDir, "a.json"), ""}},
		{{"fsync", "tmp", ""}, {"link", filepath.Join(in.Root, "seccomp", webappAlias), "tmp"}, {"fsyncdir", filepath.Dir(filepath.Join(in.Root, "seccomp", webappAlias)), ""}},
	}
	for k, ops := range bad {
		if len(checkDurable("bad", ops, opDir)) == 0 {
			t.Errorf("checkDurable accepts bad trace %d: %v", k, ops)
		}
	}
}
