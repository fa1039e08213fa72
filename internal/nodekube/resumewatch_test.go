package nodekube

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// fakeStreams stands for the apiserver in unit tests: each open returns the
// next scripted stream (a FakeWatcher the test feeds and closes) and
// records the options it was opened with.
type fakeStreams struct {
	mu      sync.Mutex
	streams []*watch.FakeWatcher
	opened  []metav1.ListOptions
	fail    error // returned by opens beyond the scripted streams, if set
}

func (f *fakeStreams) open(_ context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opened = append(f.opened, opts)
	if len(f.opened) > len(f.streams) {
		if f.fail != nil {
			return nil, f.fail
		}
		s := watch.NewFakeWithChanSize(1, false)
		s.Stop() // an empty stream the server closes at once
		return s, nil
	}
	return f.streams[len(f.opened)-1], nil
}

func (f *fakeStreams) opens() []metav1.ListOptions {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]metav1.ListOptions(nil), f.opened...)
}

func profileAt(name, rv string) *v1alpha1.SeccompProfile {
	return &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: name, ResourceVersion: rv}}
}

// recv reads the next event, failing the test after a few seconds.
func recv(t *testing.T, w watch.Interface) (watch.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-w.ResultChan():
		return ev, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no event and no end of the watch within 5 s")
		return watch.Event{}, false
	}
}

func expectEvent(t *testing.T, w watch.Interface, typ watch.EventType, rv string) {
	t.Helper()
	ev, ok := recv(t, w)
	if !ok {
		t.Fatalf("watch ended, want a %s event at version %s", typ, rv)
	}
	got := ""
	if sp, isProfile := ev.Object.(*v1alpha1.SeccompProfile); isProfile {
		got = sp.ResourceVersion
	}
	if ev.Type != typ || got != rv {
		t.Fatalf("got %s at version %q, want %s at %s", ev.Type, got, typ, rv)
	}
}

func expectEnd(t *testing.T, w watch.Interface) {
	t.Helper()
	if ev, ok := recv(t, w); ok {
		t.Fatalf("got %s event, want the watch to end", ev.Type)
	}
}

// startResuming opens a resumingWatch with opts (from version 3 unless
// they say otherwise) whose first stream is the returned FakeWatcher; f's
// streams follow it.
func startResuming(t *testing.T, opts metav1.ListOptions, f *fakeStreams) (*watch.FakeWatcher, watch.Interface) {
	t.Helper()
	s1 := watch.NewFakeWithChanSize(10, false)
	f.streams = append([]*watch.FakeWatcher{s1}, f.streams...)
	if opts.ResourceVersion == "" {
		opts.ResourceVersion = "3"
	}
	w, err := newResumingWatch(context.Background(), opts, f.open)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return s1, w
}

func TestResumingWatchResumesFromTheLastVersion(t *testing.T) {
	s2 := watch.NewFakeWithChanSize(10, false)
	f := &fakeStreams{streams: []*watch.FakeWatcher{s2}}
	s1, w := startResuming(t, metav1.ListOptions{TimeoutSeconds: ptr.To[int64](300), AllowWatchBookmarks: true}, f)
	s1.Add(profileAt("a", "5"))
	s1.Action(watch.Bookmark, profileAt("", "7"))
	s1.Stop() // the apiserver closes the stream
	s2.Modify(profileAt("a", "9"))
	expectEvent(t, w, watch.Added, "5")
	expectEvent(t, w, watch.Bookmark, "7")
	expectEvent(t, w, watch.Modified, "9")
	opens := f.opens()
	if len(opens) != 2 {
		t.Fatalf("%d streams opened, want 2", len(opens))
	}
	// The second stream starts after the bookmark's version, within what
	// is left of the reflector's timeout, with the same other options.
	if got := opens[1]; got.ResourceVersion != "7" || got.TimeoutSeconds == nil || *got.TimeoutSeconds > 300 || *got.TimeoutSeconds < 290 || !got.AllowWatchBookmarks {
		t.Errorf("resumed with %+v, want resourceVersion 7, timeout 290..300 s, bookmarks", got)
	}
}

func TestResumingWatchEndsOnAnErrorEvent(t *testing.T) {
	f := &fakeStreams{}
	s1, w := startResuming(t, metav1.ListOptions{}, f)
	gone := &metav1.Status{Status: metav1.StatusFailure, Code: 410, Reason: metav1.StatusReasonExpired}
	s1.Error(gone)
	ev, ok := recv(t, w)
	if !ok || ev.Type != watch.Error || ev.Object != gone {
		t.Fatalf("got %v %v, want the error event passed on", ev, ok)
	}
	expectEnd(t, w)
	if n := len(f.opens()); n != 1 {
		t.Errorf("%d streams opened after an error event, want 1: the reflector decides (a relist for 410)", n)
	}
}

func TestResumingWatchGivesUpAfterEmptyStreams(t *testing.T) {
	defer func(d time.Duration) { emptyResumeDelay = d }(emptyResumeDelay)
	emptyResumeDelay = time.Millisecond
	f := &fakeStreams{} // every later stream is empty
	s1, w := startResuming(t, metav1.ListOptions{}, f)
	s1.Add(profileAt("a", "4"))
	s1.Stop()
	expectEvent(t, w, watch.Added, "4")
	expectEnd(t, w)
	opens := f.opens()
	if len(opens) != 1+maxEmptyResumes {
		t.Errorf("%d streams opened, want the first and %d empty ones", len(opens), maxEmptyResumes)
	}
	for _, o := range opens[1:] {
		if o.ResourceVersion != "4" {
			t.Errorf("resumed at %q, want 4", o.ResourceVersion)
		}
	}
}

func TestResumingWatchEndsWhenAnOpenFails(t *testing.T) {
	f := &fakeStreams{fail: errors.New("connection refused")}
	s1, w := startResuming(t, metav1.ListOptions{}, f)
	s1.Stop()
	expectEnd(t, w)
	if n := len(f.opens()); n != 2 {
		t.Errorf("%d opens, want 2 (the reflector backs off from a failing apiserver)", n)
	}
	// The first open's error is the caller's.
	if _, err := newResumingWatch(context.Background(), metav1.ListOptions{ResourceVersion: "3"}, f.open); err == nil {
		t.Error("a failing first open returned no error")
	}
}

func TestResumingWatchEndsAtTheReflectorsTimeout(t *testing.T) {
	f := &fakeStreams{}
	s1, w := startResuming(t, metav1.ListOptions{TimeoutSeconds: ptr.To[int64](0)}, f)
	s1.Add(profileAt("a", "4"))
	s1.Stop()
	expectEvent(t, w, watch.Added, "4")
	expectEnd(t, w)
	if n := len(f.opens()); n != 1 {
		t.Errorf("%d opens after the timeout, want 1", n)
	}
}

func TestResumingWatchStop(t *testing.T) {
	f := &fakeStreams{}
	s1, w := startResuming(t, metav1.ListOptions{}, f)
	w.Stop()
	expectEnd(t, w)
	if !s1.IsStopped() {
		t.Error("the stream is still open after Stop")
	}
	w.Stop() // twice is fine
}

func TestResumable(t *testing.T) {
	for _, c := range []struct {
		opts metav1.ListOptions
		want bool
	}{
		{metav1.ListOptions{ResourceVersion: "12"}, true},
		{metav1.ListOptions{ResourceVersion: "12", SendInitialEvents: ptr.To(false)}, true},
		{metav1.ListOptions{ResourceVersion: ""}, false},
		{metav1.ListOptions{ResourceVersion: "0"}, false},
		// A watch-list's initial events come in no version order.
		{metav1.ListOptions{ResourceVersion: "12", SendInitialEvents: ptr.To(true)}, false},
	} {
		if got := resumable(c.opts); got != c.want {
			t.Errorf("resumable(%+v) = %v, want %v", c.opts, got, c.want)
		}
	}
}
