package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// debounce coalesces a burst of file events (an editor's write, our own
// temp-file + rename) into one onDrift call.
const debounce = 50 * time.Millisecond

// Watch calls onDrift soon after anything changes in the directories holding
// managed files (an edit, chmod, delete or rename by hand), and every interval
// regardless, as a safety net for what inotify cannot report: changes made
// while the watch was being set up, a queue overflow, a directory deleted and
// recreated, or a different mount appearing over the root. interval <= 0
// disables the periodic call.
//
// onDrift runs on Watch's goroutine and is typically "run Sync with the
// current desired set"; the events Sync itself causes lead to one more
// onDrift, which finds nothing to do and so writes nothing. Watch returns
// when ctx is done (nil) or when the watcher cannot be created.
func (i *Installer) Watch(ctx context.Context, interval time.Duration, onDrift func()) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch profiles: %w", err)
	}
	defer w.Close()
	defer i.setWatched(nil) // unwatched files are trusted only after a stat

	// The operator directory is created up front so that it can be watched
	// before the first profile arrives.
	i.mu.Lock()
	err = i.mkdirs(i.operatorDir())
	i.mu.Unlock()
	if err != nil {
		return fmt.Errorf("watch profiles: %w", err)
	}
	i.refreshWatches(w)

	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	var fire <-chan time.Time // non-nil while a debounced call is pending
	drift := func() {
		fire = nil
		onDrift()
		// Sync may have created directories (e.g. the first predefined
		// alias) or a watched directory may have been deleted.
		i.refreshWatches(w)
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if strings.HasPrefix(filepath.Base(ev.Name), TempPrefix) {
				// Our own in-flight writes; their rename shows up as an
				// event on the final name.
				continue
			}
			switch ours, unknown := i.ownEvent(ev.Name); {
			case ours:
				// The rename of our own write: the file is exactly
				// what we wrote, so there is nothing to repair.
				continue
			case unknown:
				// A file we do not know (a stray file, or one we
				// removed): only a complete pass lists directories.
				i.ForgetKnown()
			}
			if fire == nil {
				fire = time.After(debounce)
			}
		case _, ok := <-w.Errors:
			if !ok {
				return nil
			}
			// An overflow or read error means events were lost, so
			// the only safe answer is a full resync.
			i.ForgetKnown()
			drift()
		case <-fire:
			drift()
		case <-tick:
			// The periodic pass reads every file, not only those whose
			// inode changed.
			i.ForgetKnown()
			drift()
		}
	}
}

// refreshWatches makes w watch exactly the directories that hold managed
// files or blocked paths and exist. inotify drops the watch of a deleted directory by itself,
// so a directory recreated by Sync is added again here.
func (i *Installer) refreshWatches(w *fsnotify.Watcher) {
	want := map[string]bool{i.operatorDir(): true}
	i.mu.Lock()
	m, err := i.readMarker()
	// A path held by another's file: its removal must be seen at once.
	for rel := range i.blocked {
		want[filepath.Dir(i.abs(rel))] = true
	}
	i.mu.Unlock()
	if err == nil {
		for rel := range m {
			want[filepath.Dir(i.abs(rel))] = true
		}
	}
	have := map[string]bool{}
	for _, d := range w.WatchList() {
		have[d] = true
		if !want[d] {
			_ = w.Remove(d)
		}
	}
	for d := range want {
		if have[d] {
			continue
		}
		if st, err := os.Stat(d); err == nil && st.IsDir() {
			// A failure here (e.g. the directory vanished again) is
			// retried at the next refresh; the periodic resync covers
			// the gap.
			if w.Add(d) == nil {
				// Its files may have changed while it was not
				// watched: verify them once before trusting them.
				i.forgetIn(d)
			}
		}
	}
	watched := map[string]bool{}
	for _, d := range w.WatchList() {
		watched[d] = true
	}
	i.setWatched(watched)
}
