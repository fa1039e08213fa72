// Package agent is the node side of the operator: it keeps the profile files
// under a kubelet's seccomp root equal to what the cluster asks for.
//
// This file is the file-system half (no cluster): an Installer that writes
// profile files atomically, repairs drift, defers removal of files that pods
// still reference, and never touches files it does not manage.
package agent

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

const (
	// FileMode is the mode of every installed profile: the kubelet and
	// container runtimes read them, nobody else needs to write them.
	FileMode fs.FileMode = 0o644
	// DirMode is the mode of directories the installer creates.
	DirMode fs.FileMode = 0o755

	// TempPrefix starts the name of every temporary file the installer
	// creates. It is hidden (so no ValidateRel-valid path can collide with
	// it) and specific enough that removing leftovers with this prefix, even
	// in PredefinedDir, only ever removes the installer's own files.
	TempPrefix = ".seccomp-operator.tmp."

	// markerName is the file in OperatorDir that lists the paths outside
	// OperatorDir the installer has installed (the predefined aliases).
	// OperatorDir belongs to the operator as a whole; everywhere else the
	// marker is what distinguishes "ours" from a file an administrator put
	// there, which the installer must never remove.
	markerName = ".managed-paths"
)

// syncWorkers bounds the files Sync writes concurrently (a variable so the
// benchmark can compare).
var syncWorkers = 8

// Installer manages profile files below <Root>/seccomp. Its methods are safe
// for concurrent use; one Installer (one agent process) per kubelet root is
// assumed, since Sync removes leftover temporary files another writer could
// still be using.
type Installer struct {
	// Root is the kubelet root directory (kubelet --root-dir).
	Root string

	mu sync.Mutex

	// known remembers, per rel path, the digest of the content last
	// written or verified and the file's identity (inode, size, mtime, ctime, mode) right after. A
	// pass whose desired content is unchanged and whose file still has that
	// identity skips reading the file: at 1000 profiles a pass costs 1000
	// stats instead of 1000 reads. Anything that rewrites, replaces,
	// truncates or chmods the file changes its identity; ForgetKnown (the
	// periodic resync) drops the shortcut so every file is read again.
	knownMu sync.Mutex
	known   map[string]knownFile
	// fast is set after a complete Sync and cleared by ForgetKnown. A
	// fast Sync trusts present (below) instead of listing OperatorDir and
	// skips the leftover-temp cleanup, which only a crash can need.
	fast bool

	// present holds the profile files in OperatorDir the installer
	// believes exist (listed by the last complete Sync, then kept up to
	// date by its own installs and removals). Guarded by mu.
	present map[string]bool

	// watched holds the directories Watch currently watches (guarded by
	// knownMu). A known file in one of them needs no stat to be trusted:
	// any change to it is an event, and Watch then forgets the file. A
	// pass over 1000 unchanged profiles otherwise spent a quarter of its
	// time in 1000 lstat calls, and a rollout makes a pass every few
	// hundred milliseconds.
	watched map[string]bool

	// blocked holds the desired paths the last Sync found held by a file
	// it did not install (Result.Foreign); their directories are watched
	// so that the path is claimed as soon as the file goes. Guarded by mu.
	blocked map[string]bool
}

type knownFile struct {
	size int
	sum  [sha256.Size]byte
	id   fileID
	// writing marks a write in flight: the file watch may report its
	// rename before remember records the new identity.
	writing bool
}

// fileID changes whenever a file is written, replaced or re-moded: ctime
// in particular cannot be set back by a user (unlike mtime with touch -r).
type fileID struct {
	dev, ino, size, mtimeNs, ctimeNs uint64
	mode                             uint32
}

func statID(p string) (fileID, bool) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size), mtimeNs: uint64(st.Mtim.Nano()), ctimeNs: uint64(st.Ctim.Nano()), mode: st.Mode}, true
}

// File is a desired file: the size and SHA-256 of its content, and how to
// get the content when the file has to be written. Comparing needs only the
// digest, so the agent keeps the digest of every installed profile in memory
// and produces the bytes again for the rare rewrite (drift repair) instead
// of holding all contents.
type File struct {
	Size    int
	Sum     [sha256.Size]byte
	Content func() ([]byte, error)
}

// FileOf is a File whose content is at hand.
func FileOf(content []byte) File {
	return File{Size: len(content), Sum: sha256.Sum256(content), Content: func() ([]byte, error) { return content, nil }}
}

// unchanged reports whether rel is known to hold f's content and its file
// has not changed since.
func (i *Installer) unchanged(rel, p string, f File) bool {
	i.knownMu.Lock()
	k, ok := i.known[rel]
	i.knownMu.Unlock()
	if !ok || k.writing || k.size != f.Size || k.sum != f.Sum {
		return false
	}
	if i.isWatched(filepath.Dir(p)) {
		return true
	}
	id, ok := statID(p)
	return ok && id == k.id
}

func (i *Installer) isWatched(dir string) bool {
	i.knownMu.Lock()
	defer i.knownMu.Unlock()
	return i.watched[dir]
}

// forgetIn forgets the known files in the directory dir.
func (i *Installer) forgetIn(dir string) {
	i.knownMu.Lock()
	defer i.knownMu.Unlock()
	for rel := range i.known {
		if filepath.Dir(i.abs(rel)) == dir {
			delete(i.known, rel)
		}
	}
}

func (i *Installer) setWatched(dirs map[string]bool) {
	i.knownMu.Lock()
	i.watched = dirs
	i.knownMu.Unlock()
}

func (i *Installer) remember(rel, p string, f File) {
	id, ok := statID(p)
	if !ok {
		i.forget(rel)
		return
	}
	i.setKnown(rel, knownFile{size: f.Size, sum: f.Sum, id: id})
}

func (i *Installer) setKnown(rel string, k knownFile) {
	i.knownMu.Lock()
	defer i.knownMu.Unlock()
	if i.known == nil {
		i.known = map[string]knownFile{}
	}
	i.known[rel] = k
}

func (i *Installer) forget(rel string) {
	i.knownMu.Lock()
	delete(i.known, rel)
	i.knownMu.Unlock()
}

// ForgetKnown makes the next Sync complete: it reads and compares every
// file, lists the directories and removes leftover temporary files.
func (i *Installer) ForgetKnown() {
	i.knownMu.Lock()
	i.known = nil
	i.fast = false
	i.knownMu.Unlock()
}

func (i *Installer) isFast() bool {
	i.knownMu.Lock()
	defer i.knownMu.Unlock()
	return i.fast
}

func (i *Installer) setFast() {
	i.knownMu.Lock()
	i.fast = true
	i.knownMu.Unlock()
}

// ownEvent classifies a file event at abs: ours is true when the file is one
// the installer wrote and still has the identity it had after that write
// (the event is the installer's own rename); unknown is true when the file
// is not one the installer knows (a stray file appeared, or a file it
// removed), which needs a complete Sync to be seen. A known file changed by
// someone else is forgotten, so that the next Sync reads it again.
func (i *Installer) ownEvent(abs string) (ours, unknown bool) {
	rel, err := filepath.Rel(nodepath.SeccompRoot(i.Root), abs)
	if err != nil {
		return false, true
	}
	rel = filepath.ToSlash(rel)
	i.knownMu.Lock()
	k, ok := i.known[rel]
	i.knownMu.Unlock()
	if !ok {
		return false, true
	}
	if k.writing {
		return true, false
	}
	if id, exists := statID(abs); exists && id == k.id {
		return true, false
	}
	i.forget(rel)
	return false, false
}

// Result says what a Sync did. Installed, Removed and Deferred hold rel paths
// in sorted order.
type Result struct {
	Installed []string // written because missing or different (incl. drift repair)
	Removed   []string // no longer desired and not in use
	Deferred  []string // no longer desired but still referenced by a pod
	Unchanged int      // desired files already correct (no write)
	Cleaned   int      // leftover temporary files removed
	// Failed holds the desired files that could not be written, with why
	// (also part of Sync's joined error).
	Failed map[string]error
	// Foreign holds the desired paths held by a file the installer did not
	// install and whose content differs (a *ForeignFileError each). They
	// are left alone; not an error of Sync, since retrying changes nothing
	// until someone removes the file.
	Foreign map[string]error
}

// Changed reports whether the Sync wrote or removed anything.
func (r Result) Changed() bool {
	return len(r.Installed) > 0 || len(r.Removed) > 0 || r.Cleaned > 0
}

func (i *Installer) abs(rel string) string { return nodepath.Abs(i.Root, rel) }

func (i *Installer) operatorDir() string {
	return filepath.Join(nodepath.SeccompRoot(i.Root), nodepath.OperatorDir)
}

// managedByDir reports whether rel lies in OperatorDir, where every profile
// file is the operator's whether or not the marker lists it.
func managedByDir(rel string) bool {
	_, ok := nodepath.NameOf(rel)
	return ok
}

// validateTarget accepts the paths the installer may write: paths inside the
// seccomp root, and in OperatorDir only profile files. Anything else written
// there (a nested path, an invalid name) would be neither recognised as a
// profile file nor listed in the marker, so it could never be removed.
func validateTarget(rel string) error {
	if err := nodepath.ValidateRel(rel); err != nil {
		return err
	}
	if strings.HasPrefix(rel, nodepath.OperatorDir+"/") && !managedByDir(rel) {
		return fmt.Errorf("profile path %q: in %s/ only <profile name>%s files are installed", rel, nodepath.OperatorDir, nodepath.Ext)
	}
	return nil
}

// Install makes the file at rel (relative to the seccomp root) hold exactly
// content with mode FileMode. It reports changed=false, and writes nothing,
// when the file already does. The write is atomic: readers see either the
// previous file or the complete new one.
func (i *Installer) Install(rel string, content []byte) (changed bool, err error) {
	return i.InstallFile(rel, FileOf(content))
}

// InstallFile is Install with the content given as a File.
func (i *Installer) InstallFile(rel string, f File) (changed bool, err error) {
	if err := validateTarget(rel); err != nil {
		return false, fmt.Errorf("install: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if managedByDir(rel) || i.unchanged(rel, i.abs(rel), f) {
		return i.install(rel, f, true, false)
	}
	m, err := i.readMarker()
	if err != nil {
		return false, err
	}
	c, err := i.claimOf(rel, f, m[rel])
	if err != nil {
		return false, err
	}
	switch c {
	case claimForeignSame:
		i.remember(rel, i.abs(rel), f)
		return false, nil
	case claimForeign:
		return false, &ForeignFileError{Rel: rel, Path: i.abs(rel)}
	case claimCreate:
		if !m[rel] {
			// Record before writing: a crash between the two then leaves
			// a marker entry for a missing file (harmless, the path is
			// claimed again) rather than a file nobody knows is ours.
			m[rel] = true
			if err := i.writeMarker(m); err != nil {
				return false, err
			}
		}
	}
	changed, err = i.install(rel, f, true, c == claimCreate)
	var foreign *ForeignFileError
	if errors.As(err, &foreign) {
		delete(m, rel)
		if werr := i.writeMarker(m); werr != nil {
			return false, errors.Join(err, werr)
		}
	}
	return changed, err
}

// install is Install without validation, locking or marker bookkeeping.
// syncDir=false leaves the directory fsync to the caller, which lets Sync
// fsync each directory once after many renames. create=true creates the
// file without replacing one that appeared meanwhile (a *ForeignFileError).
func (i *Installer) install(rel string, f File, syncDir, create bool) (bool, error) {
	p := i.abs(rel)
	if i.unchanged(rel, p, f) {
		return false, nil
	}
	same, err := hasContent(p, f)
	if err != nil {
		return false, fmt.Errorf("install %s: %w", rel, err)
	}
	if same {
		i.remember(rel, p, f)
		return false, nil
	}
	content, err := f.Content()
	if err != nil {
		return false, fmt.Errorf("install %s: %w", rel, err)
	}
	if len(content) != f.Size || sha256.Sum256(content) != f.Sum {
		// A caller whose content changed since it computed the digest:
		// writing it would record a digest the file does not have.
		return false, fmt.Errorf("install %s: content does not match its digest", rel)
	}
	if err := i.mkdirs(filepath.Dir(p)); err != nil {
		return false, fmt.Errorf("install %s: %w", rel, err)
	}
	i.setKnown(rel, knownFile{writing: true})
	if err := writeAtomic(p, content, syncDir, create); err != nil {
		i.forget(rel)
		if errors.Is(err, fs.ErrExist) {
			return false, &ForeignFileError{Rel: rel, Path: p}
		}
		return false, fmt.Errorf("install %s: %w", rel, err)
	}
	i.remember(rel, p, f)
	return true, nil
}

// hasContent reports whether p is a regular file (not a symlink: the kubelet
// would follow it to content we do not control) with mode FileMode holding
// exactly f's content (same size and SHA-256).
func hasContent(p string, f File) (bool, error) {
	fd, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP) {
			return false, nil
		}
		return false, err
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return false, err
	}
	if !st.Mode().IsRegular() || st.Mode().Perm() != FileMode || st.Size() != int64(f.Size) {
		return false, nil
	}
	// Hash through a small buffer rather than reading the whole file: the
	// idle resync compares every profile, and a full-size buffer per file
	// would make it allocate as much as all profiles together.
	h := sha256.New()
	var buf [16 << 10]byte
	n, err := io.CopyBuffer(h, io.LimitReader(fd, int64(f.Size)+1), buf[:])
	if err != nil {
		return false, err
	}
	return n == int64(f.Size) && bytes.Equal(h.Sum(nil), f.Sum[:]), nil
}

// mkdirs creates dir and its missing parents with DirMode (independent of the
// umask) and fsyncs the parent of each one it creates, so that a profile file
// made durable later is not lost with a directory entry that was not.
func (i *Installer) mkdirs(dir string) error {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s exists and is not a directory", dir)
		}
		return nil
	}
	parent := filepath.Dir(dir)
	if parent != dir {
		if err := i.mkdirs(parent); err != nil {
			return err
		}
	}
	if err := mkdirOne(dir); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil
		}
		return err
	}
	if err := os.Chmod(dir, DirMode); err != nil {
		return err
	}
	return syncDir(parent)
}

// writeAtomic writes content to a temporary file in p's directory, fsyncs
// it, renames it over p and (if dirSync) fsyncs the directory. rename(2)
// within a directory is atomic, so every reader sees the old or the new file.
// With noReplace the temporary file is linked to p instead, which fails with
// fs.ErrExist when p exists, and then removed.
func writeAtomic(p string, content []byte, dirSync, noReplace bool) (err error) {
	dir := filepath.Dir(p)
	f, err := os.CreateTemp(dir, TempPrefix+"*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp uses 0600; set the final mode on the open file so the
	// rename publishes it with the right mode, whatever the umask.
	if err = f.Chmod(FileMode); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err = f.Write(content); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err = fsyncFile(f); err != nil {
		return fmt.Errorf("fsync temporary file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if noReplace {
		if err = linkFile(tmp, p); err != nil {
			return fmt.Errorf("link into place: %w", err)
		}
		// A crash before this leaves a temporary file, which the next
		// complete Sync removes.
		if err := removeFile(tmp); err != nil {
			return fmt.Errorf("remove temporary file: %w", err)
		}
	} else if err = renameFile(tmp, p); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	if dirSync {
		if err := syncDir(dir); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes the file at rel if it exists and is managed (in
// OperatorDir, or listed in the marker), and forgets it as managed. A file
// the installer did not install is left alone. It does not check whether a
// pod uses the file; Sync does.
func (i *Installer) Remove(rel string) error {
	if err := validateTarget(rel); err != nil {
		return fmt.Errorf("remove: %w", err)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if managedByDir(rel) {
		return i.remove(rel)
	}
	m, err := i.readMarker()
	if err != nil {
		return err
	}
	if !m[rel] {
		i.forget(rel)
		return nil
	}
	if err := i.remove(rel); err != nil {
		return err
	}
	delete(m, rel)
	return i.writeMarker(m)
}

func (i *Installer) remove(rel string) error {
	p := i.abs(rel)
	i.forget(rel)
	delete(i.present, rel)
	if err := removeFile(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("remove %s: %w", rel, err)
	}
	return syncDir(filepath.Dir(p))
}

// Sync makes the managed files match desired (rel path → content):
//   - every desired file is installed when missing or different, which also
//     repairs files edited, re-moded or deleted by hand;
//   - a managed file that is not desired is removed unless inUse(rel) says a
//     pod still references it, in which case it is kept and reported in
//     Deferred (a later Sync removes it once inUse turns false);
//   - temporary files left by a crashed write are removed;
//   - files not managed (anything outside OperatorDir that this installer
//     did not install, and anything in OperatorDir that is not a profile
//     file) are never touched.
//
// inUse may be nil (nothing in use). Errors on single files do not stop the
// others; they are joined in the returned error.
func (i *Installer) Sync(desired map[string][]byte, inUse func(rel string) bool) (Result, error) {
	files := make(map[string]File, len(desired))
	for rel, content := range desired {
		files[rel] = FileOf(content)
	}
	return i.SyncFiles(files, inUse)
}

// SyncFiles is Sync with the desired contents given as Files.
func (i *Installer) SyncFiles(desired map[string]File, inUse func(rel string) bool) (Result, error) {
	var res Result
	for rel := range desired {
		if err := validateTarget(rel); err != nil {
			return res, fmt.Errorf("sync: %w", err)
		}
	}
	if inUse == nil {
		inUse = func(string) bool { return false }
	}
	i.mu.Lock()
	defer i.mu.Unlock()

	marker, err := i.readMarker()
	if err != nil {
		return res, fmt.Errorf("sync: %w", err)
	}
	// Paths outside OperatorDir: claim the free ones before writing them,
	// leave the ones another's file holds (see claimOf).
	markerChanged := false
	skip := map[string]bool{} // settled here: not to be written
	creating := map[string]bool{}
	claimErrs := map[string]error{}
	i.blocked = nil
	for rel, f := range desired {
		if managedByDir(rel) || i.unchanged(rel, i.abs(rel), f) {
			continue
		}
		c, err := i.claimOf(rel, f, marker[rel])
		if err != nil {
			claimErrs[rel] = err
			skip[rel] = true
			continue
		}
		switch c {
		case claimForeignSame:
			i.remember(rel, i.abs(rel), f)
			skip[rel] = true
			res.Unchanged++
		case claimForeign:
			i.block(&res, &ForeignFileError{Rel: rel, Path: i.abs(rel)})
			skip[rel] = true
		case claimCreate:
			creating[rel] = true
			if !marker[rel] {
				marker[rel] = true
				markerChanged = true
			}
		}
	}
	if markerChanged {
		if err := i.writeMarker(marker); err != nil {
			return res, fmt.Errorf("sync: %w", err)
		}
	}

	var errs []error
	for _, rel := range sortedKeys(claimErrs) {
		errs = append(errs, claimErrs[rel])
		if res.Failed == nil {
			res.Failed = map[string]error{}
		}
		res.Failed[rel] = claimErrs[rel]
	}
	// Directories holding managed files: leftovers are cleaned there, and
	// each is fsynced once after its renames.
	dirs := map[string]bool{i.operatorDir(): true}
	for rel := range marker {
		dirs[filepath.Dir(i.abs(rel))] = true
	}
	full := !i.isFast() || i.present == nil
	if full {
		for _, dir := range sortedKeys(dirs) {
			n, err := cleanTemps(dir)
			res.Cleaned += n
			if err != nil {
				errs = append(errs, err)
			}
		}
	}

	// Files known to hold their content are settled here, in map order:
	// in a pass over 1000 installed profiles, sorting all paths and
	// handing each to a worker goroutine cost more than the check itself.
	var rels []string
	for rel, f := range desired {
		if skip[rel] {
			continue
		}
		if i.unchanged(rel, i.abs(rel), f) {
			res.Unchanged++
		} else {
			rels = append(rels, rel)
		}
	}
	slices.Sort(rels)
	// Install the rest in parallel: on a journaling file system concurrent
	// fsyncs share journal commits, so a node receiving many profiles at
	// once (agent start, a bulk apply) is not bound by one fsync per file.
	changed := make([]bool, len(rels))
	installErrs := make([]error, len(rels))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(syncWorkers, len(rels)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				changed[k], installErrs[k] = i.install(rels[k], desired[rels[k]], false, creating[rels[k]])
			}
		}()
	}
	for k := range rels {
		next <- k
	}
	close(next)
	wg.Wait()
	dirty := map[string]bool{}
	for k, rel := range rels {
		var foreign *ForeignFileError
		switch {
		case errors.As(installErrs[k], &foreign):
			// The file appeared after claimOf: not ours after all.
			i.block(&res, foreign)
			delete(marker, rel)
			markerChanged = true
		case installErrs[k] != nil:
			errs = append(errs, installErrs[k])
			if res.Failed == nil {
				res.Failed = map[string]error{}
			}
			res.Failed[rel] = installErrs[k]
		case changed[k]:
			res.Installed = append(res.Installed, rel)
			dirty[filepath.Dir(i.abs(rel))] = true
		default:
			res.Unchanged++
		}
	}
	for _, dir := range sortedKeys(dirty) {
		if err := syncDir(dir); err != nil {
			errs = append(errs, err)
		}
	}

	// Managed files that are no longer desired: the profile files in
	// OperatorDir, and the marker's entries.
	if full {
		files, err := i.profileFiles()
		if err != nil {
			errs = append(errs, fmt.Errorf("sync: %w", err))
		}
		i.present = map[string]bool{}
		for _, rel := range files {
			i.present[rel] = true
		}
	}
	for rel := range desired {
		if _, failed := res.Failed[rel]; !failed && managedByDir(rel) {
			i.present[rel] = true
		}
	}
	var stale []string
	for rel := range i.present {
		if _, want := desired[rel]; !want {
			stale = append(stale, rel)
		}
	}
	for rel := range marker {
		if _, ok := desired[rel]; !ok {
			stale = append(stale, rel)
		}
	}
	sort.Strings(stale)
	for _, rel := range stale {
		if _, err := os.Lstat(i.abs(rel)); errors.Is(err, fs.ErrNotExist) {
			// Already gone (removed by hand, or a crash after the
			// removal): only the bookkeeping is left to drop.
			delete(i.present, rel)
			if marker[rel] {
				delete(marker, rel)
				markerChanged = true
			}
			continue
		}
		if inUse(rel) {
			res.Deferred = append(res.Deferred, rel)
			continue
		}
		if err := i.remove(rel); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Removed = append(res.Removed, rel)
		if marker[rel] {
			delete(marker, rel)
			markerChanged = true
		}
	}
	if markerChanged {
		if err := i.writeMarker(marker); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		i.setFast()
	}
	return res, errors.Join(errs...)
}

// block records that a desired path is held by another's file.
func (i *Installer) block(res *Result, e *ForeignFileError) {
	if res.Foreign == nil {
		res.Foreign = map[string]error{}
	}
	res.Foreign[e.Rel] = e
	if i.blocked == nil {
		i.blocked = map[string]bool{}
	}
	i.blocked[e.Rel] = true
}

// cleanTemps removes the installer's leftover temporary files in dir. Callers
// hold the lock, so no write of this installer is in flight.
func cleanTemps(dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, nil
		}
		return 0, fmt.Errorf("clean temporary files: %w", err)
	}
	n := 0
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), TempPrefix) || e.IsDir() {
			continue
		}
		if err := removeFile(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return n, fmt.Errorf("clean temporary files: %w", err)
		}
		n++
	}
	return n, nil
}

// Managed returns the rel paths of the files the installer currently manages
// and that exist: profile files in OperatorDir and the marker's entries.
func (i *Installer) Managed() ([]string, error) {
	i.mu.Lock()
	defer i.mu.Unlock()
	out, err := i.profileFiles()
	if err != nil {
		return nil, fmt.Errorf("managed files: %w", err)
	}
	m, err := i.readMarker()
	if err != nil {
		return nil, err
	}
	for rel := range m {
		if _, err := os.Lstat(i.abs(rel)); err == nil {
			out = append(out, rel)
		}
	}
	sort.Strings(out)
	return out, nil
}

// profileFiles lists the profile files in OperatorDir (rel paths, in
// directory order); a missing directory holds none.
func (i *Installer) profileFiles() ([]string, error) {
	entries, err := os.ReadDir(i.operatorDir())
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("list %s: %w", i.operatorDir(), err)
	}
	var out []string
	for _, e := range entries {
		if rel := path.Join(nodepath.OperatorDir, e.Name()); managedByDir(rel) && !e.IsDir() {
			out = append(out, rel)
		}
	}
	return out, nil
}

func (i *Installer) markerPath() string { return filepath.Join(i.operatorDir(), markerName) }

// readMarker returns the set of managed paths outside OperatorDir. Entries
// that are not valid paths, or that lie in OperatorDir, are ignored: a
// hand-edited marker must not make the installer remove arbitrary files.
func (i *Installer) readMarker() (map[string]bool, error) {
	m := map[string]bool{}
	data, err := os.ReadFile(i.markerPath())
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, nil
		}
		return nil, fmt.Errorf("read %s: %w", i.markerPath(), err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		rel := strings.TrimSpace(sc.Text())
		if rel == "" || strings.HasPrefix(rel, "#") || nodepath.ValidateRel(rel) != nil || strings.HasPrefix(rel, nodepath.OperatorDir+"/") {
			continue
		}
		m[rel] = true
	}
	return m, nil
}

func (i *Installer) writeMarker(m map[string]bool) error {
	var b strings.Builder
	b.WriteString("# Paths outside operator/ installed by the seccomp-operator agent; it removes only these.\n")
	for _, rel := range sortedKeys(m) {
		b.WriteString(rel)
		b.WriteByte('\n')
	}
	if err := i.mkdirs(i.operatorDir()); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	if same, err := hasContent(i.markerPath(), FileOf([]byte(b.String()))); err == nil && same {
		return nil
	}
	if err := writeAtomic(i.markerPath(), []byte(b.String()), true, false); err != nil {
		return fmt.Errorf("write marker: %w", err)
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
