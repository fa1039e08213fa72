package agent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// startWatch runs Watch with an onDrift that re-syncs desired and reports
// each call's Result on the returned channel.
func startWatch(t *testing.T, in *Installer, interval time.Duration, desired map[string][]byte) <-chan Result {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	results := make(chan Result, 100)
	done := make(chan error, 1)
	go func() {
		done <- in.Watch(ctx, interval, func() {
			res, err := in.Sync(desired, nil)
			if err != nil {
				t.Errorf("Sync from onDrift: %v", err)
			}
			results <- res
		})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Watch: %v", err)
		}
	})
	return results
}

// waitRepair waits for an onDrift call that installs rel.
func waitRepair(t *testing.T, results <-chan Result, rel string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case res := <-results:
			for _, r := range res.Installed {
				if r == rel {
					return
				}
			}
		case <-deadline:
			t.Fatalf("%s not repaired within %v", rel, within)
		}
	}
}

// installedAndWatched installs desired in a fresh root and watches it with
// a one-hour resync: any repair seen afterwards comes from the event path.
func installedAndWatched(t *testing.T, desired map[string][]byte) (*Installer, <-chan Result) {
	t.Helper()
	in := newInstaller(t)
	if _, err := in.Sync(desired, nil); err != nil {
		t.Fatal(err)
	}
	results := startWatch(t, in, time.Hour, desired)
	time.Sleep(100 * time.Millisecond) // let the watches be added
	return in, results
}

func TestWatchRepairsDriftWithinSeconds(t *testing.T) {
	a := profilePath("a")
	desired := map[string][]byte{a: []byte("a\n"), webappAlias: []byte("webapp\n")}
	in, results := installedAndWatched(t, desired)

	start := time.Now()
	writeFile(t, nodepath.Abs(in.Root, a), []byte("edited by hand"))
	waitRepair(t, results, a, 2*time.Second)
	t.Logf("edit repaired after %v", time.Since(start))

	start = time.Now()
	if err := os.Remove(nodepath.Abs(in.Root, webappAlias)); err != nil {
		t.Fatal(err)
	}
	waitRepair(t, results, webappAlias, 2*time.Second)
	t.Logf("delete repaired after %v", time.Since(start))

	// The whole operator directory removed: its watch is gone with it, so
	// the repair must also re-add the watch for later drift to be seen.
	if err := os.RemoveAll(nodepath.Abs(in.Root, nodepath.OperatorDir)); err != nil {
		t.Fatal(err)
	}
	waitRepair(t, results, a, 2*time.Second)
	time.Sleep(100 * time.Millisecond)
	writeFile(t, nodepath.Abs(in.Root, a), []byte("edited again"))
	waitRepair(t, results, a, 2*time.Second)

	// Quiet: after the self-caused events settle, no more onDrift calls and
	// in particular no writes.
	settle := time.After(300 * time.Millisecond)
drain:
	for {
		select {
		case res := <-results:
			if res.Changed() {
				t.Errorf("a resync after repair changed something: %+v", res)
			}
		case <-settle:
			break drain
		}
	}
	select {
	case res := <-results:
		t.Errorf("onDrift called while nothing changed: %+v", res)
	case <-time.After(500 * time.Millisecond):
	}
}

func TestWatchPeriodicResync(t *testing.T) {
	in := newInstaller(t)
	a := profilePath("a")
	desired := map[string][]byte{a: []byte("a\n")}
	results := startWatch(t, in, 100*time.Millisecond, desired)
	// Nothing installed yet and no file event will come: the safety-net
	// tick alone must install it.
	waitRepair(t, results, a, 2*time.Second)
}

// Files in watched directories are trusted without a stat on every pass;
// what makes that safe is that any change is an event, after which the
// file is read again. A same-size edit and a chmod are repaired.
func TestWatchedFilesAreTrustedUntilAnEvent(t *testing.T) {
	a := profilePath("a")
	desired := map[string][]byte{a: []byte("aaaa\n"), webappAlias: []byte("webapp\n")}
	in, results := installedAndWatched(t, desired)
	for _, rel := range []string{a, webappAlias} {
		if !in.isWatched(filepath.Dir(nodepath.Abs(in.Root, rel))) {
			t.Fatalf("the directory of %s is not marked watched", rel)
		}
	}
	writeFile(t, nodepath.Abs(in.Root, a), []byte("bbbb\n")) // same size
	waitRepair(t, results, a, 2*time.Second)
	if err := os.Chmod(nodepath.Abs(in.Root, webappAlias), 0o600); err != nil {
		t.Fatal(err)
	}
	waitRepair(t, results, webappAlias, 2*time.Second)
	for rel, want := range desired {
		if got, err := os.ReadFile(nodepath.Abs(in.Root, rel)); err != nil || string(got) != string(want) {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}
}
