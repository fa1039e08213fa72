package enricher

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// fakeEvents records the writes; Patch of an unknown name is NotFound.
type fakeEvents struct {
	mu      sync.Mutex
	created map[string]*corev1.Event
	patches []string
}

func (f *fakeEvents) Create(_ context.Context, ev *corev1.Event) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.created == nil {
		f.created = map[string]*corev1.Event{}
	}
	if _, ok := f.created[ev.Name]; ok {
		return apierrors.NewAlreadyExists(schema.GroupResource{Resource: "events"}, ev.Name)
	}
	f.created[ev.Name] = ev
	return nil
}

func (f *fakeEvents) Patch(_ context.Context, ns, name string, patch []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev, ok := f.created[name]
	if !ok {
		return apierrors.NewNotFound(schema.GroupResource{Resource: "events"}, name)
	}
	var p struct{ Count int32 }
	if err := json.Unmarshal(patch, &p); err != nil {
		return err
	}
	ev.Count = p.Count
	f.patches = append(f.patches, name)
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time      { return c.t }
func (c *clock) add(d time.Duration) { c.t = c.t.Add(d) }

var logrDiscard = logr.Discard()

func newClock() *clock { return &clock{t: time.Date(2026, 12, 6, 17, 0, 0, 0, time.UTC)} }

func testEvents(w EventWriter, c *clock) *Events {
	e := NewEvents(w, "node-1", logr.Discard())
	e.Now = c.now
	return e
}

// A pod hammering one denied syscall makes one Event, created at once,
// whose count is updated at most every UpdateInterval.
func TestEventsAggregateAndRateLimit(t *testing.T) {
	resetMetrics()
	w, c := &fakeEvents{}, newClock()
	e := testEvents(w, c)
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	app := x.get(idApp)
	r := &Record{PID: 10, Arch: "x86_64", Syscall: "mkdir", Nr: 83, Action: "errno"}
	ctx := context.Background()
	// 20 seconds of 1000 denials a second, flushed every second.
	for range 20 {
		for range 1000 {
			e.observe(app, *r)
		}
		e.flush(ctx)
		c.add(time.Second)
	}
	if len(w.created) != 1 || len(w.patches) != 0 {
		t.Fatalf("%d creates and %d patches in 20 s, want 1 and 0", len(w.created), len(w.patches))
	}
	var ev *corev1.Event
	for _, v := range w.created {
		ev = v
	}
	if ev.Count != 1000 || ev.InvolvedObject.Name != "web" || ev.InvolvedObject.UID != "u1" || ev.Reason != ReasonDenied || ev.Type != corev1.EventTypeWarning {
		t.Errorf("event %+v", ev)
	}
	for _, s := range []string{"container app", "mkdir", "x86_64", "83", "errno", "SeccompProfile deny-mkdir", "seccompctl explain"} {
		if !strings.Contains(ev.Message, s) {
			t.Errorf("message %q lacks %q", ev.Message, s)
		}
	}
	for range 20 {
		e.flush(ctx)
		c.add(time.Second)
	}
	if len(w.patches) != 1 || ev.Count != 20000 {
		t.Errorf("after 40 s: %d patches, count %d; want 1 patch with 20000", len(w.patches), ev.Count)
	}
	// Nothing new: no write.
	c.add(time.Minute)
	e.flush(ctx)
	if len(w.patches) != 1 {
		t.Errorf("%d patches without new denials", len(w.patches))
	}
}

// Complain mode: the Event says the syscall would have been denied.
func TestEventComplainMessage(t *testing.T) {
	w, c := &fakeEvents{}, newClock()
	e := testEvents(w, c)
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	e.observe(x.get(idApp), Record{PID: 10, Arch: "x86", Syscall: "mkdir", Nr: 39, Action: "log"})
	e.flush(context.Background())
	for _, ev := range w.created {
		if ev.Reason != ReasonWouldDeny || !strings.Contains(ev.Message, "would have been denied") || !strings.Contains(ev.Message, "(x86, number 39)") {
			t.Errorf("%s: %s", ev.Reason, ev.Message)
		}
	}
}

// The node writes at most PerMinute Events a minute; the rest wait their
// turn, still counted.
func TestEventsNodeBudget(t *testing.T) {
	w, c := &fakeEvents{}, newClock()
	e := testEvents(w, c)
	e.PerMinute = 5
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	for i := range 12 {
		e.observe(x.get(idApp), Record{Arch: "x86_64", Syscall: fmt.Sprint("s", i), Nr: i, Action: "errno"})
	}
	e.flush(context.Background())
	c.add(30 * time.Second)
	e.flush(context.Background())
	if len(w.created) != 5 {
		t.Fatalf("%d creates in the first minute, want 5", len(w.created))
	}
	c.add(31 * time.Second)
	e.flush(context.Background())
	if len(w.created) != 10 {
		t.Fatalf("%d creates after a minute, want 10", len(w.created))
	}
}

// An Event the apiserver expired is created again.
func TestEventRecreatedWhenGone(t *testing.T) {
	w, c := &fakeEvents{}, newClock()
	e := testEvents(w, c)
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	r := &Record{Arch: "x86_64", Syscall: "mkdir", Nr: 83, Action: "errno"}
	e.observe(x.get(idApp), *r)
	e.flush(context.Background())
	w.created = nil
	e.observe(x.get(idApp), *r)
	c.add(time.Minute)
	e.flush(context.Background()) // NotFound
	e.flush(context.Background()) // created again
	if len(w.created) != 1 {
		t.Fatalf("not created again: %v", w.created)
	}
	for _, ev := range w.created {
		if ev.Count != 2 {
			t.Errorf("count %d, want 2", ev.Count)
		}
	}
}

// A pod deleted and created again under its name gets an Event of its own:
// the old pod's Event keeps its count, and the new pod's create does not
// find its name taken.
func TestEventOfAPodCreatedAgainUnderItsName(t *testing.T) {
	w, c := &fakeEvents{}, newClock()
	e := testEvents(w, c)
	x := newPodIndex()
	r := &Record{Arch: "x86_64", Syscall: "mkdir", Nr: 83, Action: "errno"}
	x.set(testPod("web", "u1"))
	for range 3 {
		e.observe(x.get(idApp), *r)
	}
	e.flush(context.Background())
	e.forgetPod("ns", "web")
	x.set(testPod("web", "u2"))
	e.observe(x.get(idApp), *r)
	c.add(time.Second)
	e.flush(context.Background())
	counts := map[string]int32{}
	for _, ev := range w.created {
		counts[string(ev.InvolvedObject.UID)] = ev.Count
	}
	if len(w.created) != 2 || counts["u1"] != 3 || counts["u2"] != 1 {
		t.Errorf("Events by pod UID: %v (%d Events), want u1: 3 and u2: 1", counts, len(w.created))
	}
	if len(w.patches) != 0 {
		t.Errorf("patched %v: the new pod's counts went to an existing Event", w.patches)
	}
}

// failingEvents refuses every create (a namespace being deleted).
type failingEvents struct{ creates int }

func (f *failingEvents) Create(context.Context, *corev1.Event) error {
	f.creates++
	return apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "x", nil)
}

func (f *failingEvents) Patch(context.Context, string, string, []byte) error { return nil }

// A refused create is retried after UpdateInterval, not every second.
func TestEventFailedCreateWaits(t *testing.T) {
	w, c := &failingEvents{}, newClock()
	e := testEvents(w, c)
	x := newPodIndex()
	x.set(testPod("web", "u1"))
	e.observe(x.get(idApp), Record{Arch: "x86_64", Syscall: "mkdir", Nr: 83, Action: "errno"})
	for range 29 {
		e.flush(context.Background())
		c.add(time.Second)
	}
	if w.creates != 1 {
		t.Fatalf("%d creates in 29 s, want 1", w.creates)
	}
	c.add(time.Second)
	e.flush(context.Background())
	if w.creates != 2 {
		t.Fatalf("%d creates after 30 s, want 2", w.creates)
	}
}
