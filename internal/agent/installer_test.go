package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

const webappAlias = "profiles/kubernetes/seccomp-k8s-webapp-profile.json"

func newInstaller(t *testing.T) *Installer {
	t.Helper()
	return &Installer{Root: t.TempDir()}
}

func readRel(t *testing.T, in *Installer, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(nodepath.Abs(in.Root, rel))
	if err != nil {
		t.Fatalf("read %s: %v", rel, err)
	}
	return b
}

func inode(t *testing.T, p string) uint64 {
	t.Helper()
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Ino
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInstallNoopAndChanged(t *testing.T) {
	// A restrictive umask must not leak into the modes the kubelet needs.
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)

	in := newInstaller(t)
	rel := profilePath("web")
	p := nodepath.Abs(in.Root, rel)
	v1 := []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}` + "\n")

	changed, err := in.Install(rel, v1)
	if err != nil || !changed {
		t.Fatalf("first Install = %v, %v; want true, nil", changed, err)
	}
	if got := readRel(t, in, rel); !bytes.Equal(got, v1) {
		t.Fatalf("content = %q, want %q", got, v1)
	}
	st, _ := os.Stat(p)
	if st.Mode().Perm() != 0o644 {
		t.Errorf("file mode = %v, want 0644", st.Mode().Perm())
	}
	for _, d := range []string{filepath.Dir(p), filepath.Dir(filepath.Dir(p))} {
		if st, _ := os.Stat(d); st.Mode().Perm() != 0o755 {
			t.Errorf("dir %s mode = %v, want 0755", d, st.Mode().Perm())
		}
	}

	// Identical content: nothing written, so the inode and mtime stay.
	ino := inode(t, p)
	mtime := st.ModTime()
	changed, err = in.Install(rel, v1)
	if err != nil || changed {
		t.Fatalf("identical Install = %v, %v; want false, nil", changed, err)
	}
	st2, _ := os.Stat(p)
	if inode(t, p) != ino || !st2.ModTime().Equal(mtime) {
		t.Errorf("identical Install rewrote the file")
	}

	v2 := []byte(`{"defaultAction":"SCMP_ACT_LOG"}` + "\n")
	changed, err = in.Install(rel, v2)
	if err != nil || !changed {
		t.Fatalf("changed Install = %v, %v; want true, nil", changed, err)
	}
	if got := readRel(t, in, rel); !bytes.Equal(got, v2) {
		t.Fatalf("content = %q, want %q", got, v2)
	}
	// Same length, different bytes: must not be mistaken for a match.
	v3 := bytes.Replace(v2, []byte("LOG"), []byte("LAG"), 1)
	if changed, _ := in.Install(rel, v3); !changed {
		t.Errorf("Install of same-length different content reported no change")
	}
	// A mode changed by hand is drift too.
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if changed, _ := in.Install(rel, v3); !changed {
		t.Errorf("Install after chmod 0600 reported no change")
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o644 {
		t.Errorf("mode after repair = %v, want 0644", st.Mode().Perm())
	}
	assertNoTemps(t, filepath.Dir(p))
}

func TestInstallReplacesSymlink(t *testing.T) {
	in := newInstaller(t)
	rel := profilePath("web")
	content := []byte("{}\n")
	// A symlink to identical content is still replaced: the kubelet would
	// follow it to a file the operator does not control.
	target := filepath.Join(in.Root, "elsewhere.json")
	writeFile(t, target, content)
	if err := os.MkdirAll(filepath.Dir(nodepath.Abs(in.Root, rel)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, nodepath.Abs(in.Root, rel)); err != nil {
		t.Fatal(err)
	}
	changed, err := in.Install(rel, content)
	if err != nil || !changed {
		t.Fatalf("Install over symlink = %v, %v; want true, nil", changed, err)
	}
	if st, _ := os.Lstat(nodepath.Abs(in.Root, rel)); !st.Mode().IsRegular() {
		t.Errorf("file is %v after Install, want a regular file", st.Mode())
	}
	if got, _ := os.ReadFile(target); !bytes.Equal(got, content) {
		t.Errorf("symlink target was modified")
	}
}

func TestInstallRejectsEscapingPaths(t *testing.T) {
	in := newInstaller(t)
	for _, rel := range []string{"../x.json", "/etc/x.json", "operator/../../x.json", "", "operator/.hidden.json", "operator/sub/x.json", "operator/Upper.json", "operator/x.yaml"} {
		if _, err := in.Install(rel, []byte("x")); err == nil {
			t.Errorf("Install(%q) succeeded", rel)
		}
		if err := in.Remove(rel); err == nil {
			t.Errorf("Remove(%q) succeeded", rel)
		}
		if _, err := in.Sync(map[string][]byte{rel: []byte("x")}, nil); err == nil {
			t.Errorf("Sync with %q succeeded", rel)
		}
	}
	if ents, _ := os.ReadDir(in.Root); len(ents) != 0 {
		t.Errorf("rejected paths left files behind: %v", ents)
	}
}

func TestSyncRepairsDrift(t *testing.T) {
	in := newInstaller(t)
	a, b := profilePath("a"), profilePath("b")
	desired := map[string][]byte{
		a:           []byte("content a\n"),
		b:           []byte("content b\n"),
		webappAlias: []byte("webapp\n"),
	}
	res, err := in.Sync(desired, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, b, webappAlias}; !slices.Equal(res.Installed, want) {
		t.Fatalf("first Sync installed %v, want %v", res.Installed, want)
	}

	// Nothing changed: no writes at all, checked on the file system (a
	// create, rename or unlink in a directory moves its mtime; the sleep
	// makes sure a write would land on a later timestamp tick).
	before := fsState(t, in)
	time.Sleep(20 * time.Millisecond)
	res, err = in.Sync(desired, nil)
	if err != nil || res.Changed() || res.Unchanged != 3 {
		t.Fatalf("idle Sync = %+v, %v; want no change, 3 unchanged", res, err)
	}
	if after := fsState(t, in); !maps.Equal(before, after) {
		t.Fatalf("idle Sync wrote to disk:\nbefore %v\nafter  %v", before, after)
	}

	// Edit one by hand, delete another, truncate the alias.
	writeFile(t, nodepath.Abs(in.Root, a), []byte("tampered"))
	if err := os.Remove(nodepath.Abs(in.Root, b)); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(nodepath.Abs(in.Root, webappAlias), 0); err != nil {
		t.Fatal(err)
	}
	res, err = in.Sync(desired, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, b, webappAlias}; !slices.Equal(res.Installed, want) {
		t.Errorf("repair Sync installed %v, want %v", res.Installed, want)
	}
	for rel, want := range desired {
		if got := readRel(t, in, rel); !bytes.Equal(got, want) {
			t.Errorf("%s = %q after repair, want %q", rel, got, want)
		}
	}
}

func TestSyncDefersRemovalWhileInUse(t *testing.T) {
	in := newInstaller(t)
	a, b := profilePath("a"), profilePath("b")
	if _, err := in.Sync(map[string][]byte{a: []byte("a"), b: []byte("b"), webappAlias: []byte("w")}, nil); err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{a: true, webappAlias: true}
	inUse := func(rel string) bool { return used[rel] }

	res, err := in.Sync(map[string][]byte{}, inUse)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, webappAlias}; !slices.Equal(res.Deferred, want) {
		t.Errorf("Deferred = %v, want %v", res.Deferred, want)
	}
	if want := []string{b}; !slices.Equal(res.Removed, want) {
		t.Errorf("Removed = %v, want %v", res.Removed, want)
	}
	for _, rel := range []string{a, webappAlias} {
		if got := readRel(t, in, rel); len(got) != 1 {
			t.Errorf("%s changed while deferred: %q", rel, got)
		}
	}
	if _, err := os.Stat(nodepath.Abs(in.Root, b)); !os.IsNotExist(err) {
		t.Errorf("%s still present: %v", b, err)
	}

	// Still in use: still deferred, nothing written.
	res, _ = in.Sync(map[string][]byte{}, inUse)
	if res.Changed() || len(res.Deferred) != 2 {
		t.Errorf("second Sync = %+v, want 2 deferred and no change", res)
	}

	// The pods are gone: now the files go, and the alias leaves the marker.
	clear(used)
	res, err = in.Sync(map[string][]byte{}, inUse)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{a, webappAlias}; !slices.Equal(res.Removed, want) || len(res.Deferred) != 0 {
		t.Errorf("final Sync = %+v, want removed %v", res, want)
	}
	if m, _ := in.Managed(); len(m) != 0 {
		t.Errorf("Managed after removal = %v, want none", m)
	}
	if mk, _ := in.readMarker(); len(mk) != 0 {
		t.Errorf("marker after removal = %v, want empty", mk)
	}
}

func TestSyncNeverTouchesUnmanagedFiles(t *testing.T) {
	in := newInstaller(t)
	seccomp := nodepath.SeccompRoot(in.Root)
	outside := filepath.Join(in.Root, "outside.json")
	unmanaged := map[string][]byte{
		filepath.Join(seccomp, "audit.json"):                                   []byte("admin's own profile"),
		filepath.Join(seccomp, "profiles/kubernetes/admin.json"):               []byte("admin's alias"),
		filepath.Join(seccomp, "profiles/kubernetes/.hidden"):                  []byte("hidden"),
		filepath.Join(seccomp, "operator/README"):                              []byte("not a profile file"),
		filepath.Join(seccomp, "operator/Upper.json"):                          []byte("not a valid profile name"),
		filepath.Join(seccomp, "operator/sub/x.json"):                          []byte("nested"),
		filepath.Join(seccomp, "operator/.seccomp-operator.tmp.dir/keep.json"): []byte("inside a temp-named dir"),
		outside: []byte("outside the seccomp root"),
	}
	for p, c := range unmanaged {
		writeFile(t, p, c)
	}
	// A hand-edited marker must not make the installer remove files
	// outside the root or that it never installed through a valid path.
	writeFile(t, filepath.Join(seccomp, "operator", markerName),
		[]byte("../outside.json\n/etc/passwd\noperator/../../outside.json\noperator/Upper.json\n"))

	a := profilePath("a")
	for _, desired := range []map[string][]byte{
		{a: []byte("a"), webappAlias: []byte("w")},
		{},
	} {
		if _, err := in.Sync(desired, nil); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := in.Managed(); len(m) != 0 {
		t.Errorf("managed files left after an empty Sync: %v", m)
	}
	for p, want := range unmanaged {
		got, err := os.ReadFile(p)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("unmanaged %s = %q, %v; want %q untouched", p, got, err, want)
		}
	}
}

func TestSyncCleansLeftoverTemps(t *testing.T) {
	in := newInstaller(t)
	a := profilePath("a")
	if _, err := in.Sync(map[string][]byte{a: []byte("a"), webappAlias: []byte("w")}, nil); err != nil {
		t.Fatal(err)
	}
	opDir := filepath.Dir(nodepath.Abs(in.Root, a))
	aliasDir := filepath.Dir(nodepath.Abs(in.Root, webappAlias))
	writeFile(t, filepath.Join(opDir, TempPrefix+"123"), []byte("partial"))
	writeFile(t, filepath.Join(aliasDir, TempPrefix+"456"), []byte("partial"))
	writeFile(t, filepath.Join(aliasDir, ".other-tool.tmp"), []byte("not ours"))

	// Only a crash leaves temporary files, so only a complete Sync (the
	// first of a process, or the periodic one) looks for them.
	res, err := in.Sync(map[string][]byte{a: []byte("a"), webappAlias: []byte("w")}, nil)
	if err != nil || res.Cleaned != 0 {
		t.Fatalf("fast Sync = %+v, %v; want no cleanup", res, err)
	}
	in.ForgetKnown()
	res, err = in.Sync(map[string][]byte{a: []byte("a"), webappAlias: []byte("w")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Cleaned != 2 || len(res.Installed) != 0 {
		t.Errorf("Sync = %+v, want 2 cleaned and nothing installed", res)
	}
	assertNoTemps(t, opDir)
	assertNoTemps(t, aliasDir)
	if _, err := os.Stat(filepath.Join(aliasDir, ".other-tool.tmp")); err != nil {
		t.Errorf("another tool's hidden file was removed: %v", err)
	}
}

// fsState snapshots every file and directory below the seccomp root: inode,
// mode and mtime.
func fsState(t *testing.T, in *Installer) map[string]string {
	t.Helper()
	state := map[string]string{}
	err := filepath.WalkDir(nodepath.SeccompRoot(in.Root), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		st, err := os.Lstat(p)
		if err != nil {
			return err
		}
		state[p] = fmt.Sprintf("ino=%d mode=%v mtime=%d", st.Sys().(*syscall.Stat_t).Ino, st.Mode(), st.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return state
}

func assertNoTemps(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), TempPrefix) {
			t.Errorf("temporary file %s left in %s", e.Name(), dir)
		}
	}
}

func TestRemove(t *testing.T) {
	in := newInstaller(t)
	a := profilePath("a")
	for _, rel := range []string{a, webappAlias} {
		if _, err := in.Install(rel, []byte(rel)); err != nil {
			t.Fatal(err)
		}
	}
	if m, _ := in.Managed(); !slices.Equal(m, []string{a, webappAlias}) {
		t.Fatalf("Managed = %v, want [%s %s]", m, a, webappAlias)
	}
	for _, rel := range []string{a, webappAlias, a} { // the second Remove of a finds nothing
		if err := in.Remove(rel); err != nil {
			t.Fatalf("Remove(%s): %v", rel, err)
		}
		if _, err := os.Lstat(nodepath.Abs(in.Root, rel)); !os.IsNotExist(err) {
			t.Errorf("%s still present after Remove: %v", rel, err)
		}
	}
	if mk, _ := in.readMarker(); len(mk) != 0 {
		t.Errorf("marker after Remove = %v, want empty", mk)
	}
}

// The shortcut that skips reading unchanged files must still see an edit
// that keeps the size and sets the mtime back (touch -r): ctime changes.
func TestSyncSeesSameSizeEditWithMtimeRestored(t *testing.T) {
	in := newInstaller(t)
	rel := profilePath("stealthy")
	want := map[string][]byte{rel: []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}`)}
	if _, err := in.Sync(want, nil); err != nil {
		t.Fatal(err)
	}
	p := in.abs(rel)
	st, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond) // a later ctime
	// Same length, different content, mtime put back.
	if err := os.WriteFile(p, []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}`), FileMode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	res, err := in.Sync(want, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Installed, []string{rel}) || !bytes.Equal(readRel(t, in, rel), want[rel]) {
		t.Fatalf("edit not repaired: %+v, file %q", res, readRel(t, in, rel))
	}
	// And an untouched file is not rewritten by the next pass.
	res, err = in.Sync(want, nil)
	if err != nil || res.Changed() || res.Unchanged != 1 {
		t.Fatalf("second pass: %+v %v", res, err)
	}
}

// A File is compared by its digest and its content is asked for only when
// the file must be written; content that does not match the digest is
// refused, and the file on disk stays as it was.
func TestInstallFileAsksForContentOnlyToWrite(t *testing.T) {
	in := newInstaller(t)
	rel := profilePath("web")
	want := []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}` + "\n")
	calls := 0
	f := FileOf(want)
	f.Content = func() ([]byte, error) { calls++; return want, nil }
	if changed, err := in.InstallFile(rel, f); err != nil || !changed || calls != 1 {
		t.Fatalf("first install: changed=%v err=%v content asked %d times", changed, err, calls)
	}
	in.ForgetKnown() // force a read of the file: equal digest, no content needed
	if changed, err := in.InstallFile(rel, f); err != nil || changed || calls != 1 {
		t.Fatalf("unchanged file: changed=%v err=%v content asked %d times", changed, err, calls)
	}

	other := FileOf([]byte(`{"defaultAction":"SCMP_ACT_LOG"}` + "\n"))
	other.Content = func() ([]byte, error) { return []byte(`{"defaultAction":"SCMP_ACT_ALLOW"}` + "\n"), nil }
	if _, err := in.InstallFile(rel, other); err == nil || !strings.Contains(err.Error(), "digest") {
		t.Fatalf("content not matching its digest: err=%v", err)
	}
	if got := readRel(t, in, rel); !bytes.Equal(got, want) {
		t.Fatalf("file changed by a refused write: %q", got)
	}
}

// A file installed on its own (InstallFile) and then found unchanged by a
// fast Sync is still removed once no longer desired: the fast path must keep
// the installer's list of present files complete.
func TestFastSyncKeepsTrackOfUnchangedFiles(t *testing.T) {
	in := newInstaller(t)
	a, b := profilePath("a"), profilePath("b")
	content := []byte(`{"defaultAction":"SCMP_ACT_ERRNO"}`)
	if _, err := in.Sync(map[string][]byte{a: content}, nil); err != nil { // complete: later Syncs are fast
		t.Fatal(err)
	}
	if _, err := in.Install(b, content); err != nil {
		t.Fatal(err)
	}
	if res, err := in.Sync(map[string][]byte{a: content, b: content}, nil); err != nil || res.Unchanged != 2 {
		t.Fatalf("Sync with b installed = %+v, %v; want both unchanged", res, err)
	}
	res, err := in.Sync(map[string][]byte{a: content}, nil)
	if err != nil || !slices.Equal(res.Removed, []string{b}) {
		t.Fatalf("Sync without b = %+v, %v; want b removed", res, err)
	}
	if _, err := os.Stat(in.abs(b)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("b still on disk: %v", err)
	}
}
