package enricher

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
)

// Violation Events are core/v1 Events: `kubectl describe pod` lists them
// with their count ("x12 over 3m"), and an aggregated Event is one object
// whose count the agent patches. (events.k8s.io/v1 Events are the same
// objects in the apiserver; core/v1's count field is what describe reads.)
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch

// Event reasons.
const (
	ReasonDenied    = "SeccompDenied"
	ReasonWouldDeny = "SeccompWouldDeny"
)

// Defaults of Events.
const (
	DefaultEventUpdateInterval = 30 * time.Second
	DefaultEventsPerMinute     = 30
)

// EventWriter writes Events to the apiserver.
type EventWriter interface {
	Create(ctx context.Context, ev *corev1.Event) error
	// Patch applies a JSON merge patch to an Event.
	Patch(ctx context.Context, namespace, name string, mergePatch []byte) error
}

// Events aggregates violations into one Event per (container, syscall,
// action): the first is created at once, then its count is updated at most
// every UpdateInterval, and the node writes at most PerMinute Events a
// minute in all (the rest wait, still counted). A pod hammering a denied
// syscall thus costs a handful of writes, not one per denial.
type Events struct {
	Writer         EventWriter
	Node           string
	UpdateInterval time.Duration
	PerMinute      int
	Now            func() time.Time
	Log            logr.Logger

	mu     sync.Mutex
	keys   map[eventKey]*eventState
	wake   chan struct{}
	window time.Time
	used   int
	// seed makes the Event names of this process unique: an Event of an
	// earlier agent is never patched with a count that restarted.
	seed string
}

// eventKey names one aggregated Event. The pod's UID is part of it: a pod
// deleted and created again under its name is another pod, whose Event
// must not be the old one's (its create would find the name taken and its
// counts would land on the old pod's Event).
type eventKey struct {
	namespace, pod, container, arch, syscall, action string
	podUID                                           types.UID
}

type eventState struct {
	profile, declared string
	nr                int
	count, written    int64
	created           bool
	first, last       time.Time
	lastWrite         time.Time
}

// NewEvents returns Events writing through w for node.
func NewEvents(w EventWriter, node string, log logr.Logger) *Events {
	return &Events{Writer: w, Node: node, Log: log, UpdateInterval: DefaultEventUpdateInterval, PerMinute: DefaultEventsPerMinute,
		Now: time.Now, keys: map[eventKey]*eventState{}, wake: make(chan struct{}, 1), seed: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// observe counts one attributed record.
func (e *Events) observe(c *container, r Record) {
	k := eventKey{namespace: c.Namespace, pod: c.Pod, container: c.Name, arch: r.Arch, syscall: r.Syscall, action: r.Action, podUID: c.PodUID}
	now := e.Now()
	e.mu.Lock()
	st, ok := e.keys[k]
	if !ok {
		st = &eventState{profile: c.Profile, declared: c.Declared, nr: r.Nr, first: now}
		e.keys[k] = st
	}
	st.count++
	st.last = now
	e.mu.Unlock()
	if !ok {
		select {
		case e.wake <- struct{}{}:
		default:
		}
	}
}

// forgetPod drops a deleted pod's Events (the apiserver expires them).
func (e *Events) forgetPod(namespace, pod string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k := range e.keys {
		if k.namespace == namespace && k.pod == pod {
			delete(e.keys, k)
		}
	}
}

// Run writes Events until ctx ends: at once for a new key, then every
// second for the counts due.
func (e *Events) Run(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-tick.C:
		}
		e.flush(ctx)
	}
}

type eventWrite struct {
	key    eventKey
	st     eventState
	create bool
}

// flush writes what is due within the budget: new Events first, then
// count updates, the oldest write first.
func (e *Events) flush(ctx context.Context) {
	now := e.Now()
	e.mu.Lock()
	var due []eventWrite
	for k, st := range e.keys {
		switch {
		case !st.created && now.Sub(st.lastWrite) >= e.UpdateInterval: // a failed create waits too
			due = append(due, eventWrite{k, *st, true})
		case st.count > st.written && now.Sub(st.lastWrite) >= e.UpdateInterval:
			due = append(due, eventWrite{k, *st, false})
		}
	}
	e.mu.Unlock()
	sort.Slice(due, func(i, j int) bool {
		if due[i].create != due[j].create {
			return due[i].create
		}
		return due[i].st.lastWrite.Before(due[j].st.lastWrite)
	})
	for _, w := range due {
		if !e.spend(now) {
			return
		}
		err := e.write(ctx, w)
		e.mu.Lock()
		st, ok := e.keys[w.key]
		switch {
		case !ok:
		case err == nil:
			st.created, st.written, st.lastWrite = true, w.st.count, now
		case w.create && apierrors.IsAlreadyExists(err):
			st.created = true
		case !w.create && apierrors.IsNotFound(err):
			st.created = false // expired or deleted: create it again
		default:
			st.lastWrite = now // retry after UpdateInterval
		}
		e.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			e.Log.Error(err, "write a violation Event", "namespace", w.key.namespace, "pod", w.key.pod, "syscall", w.key.syscall)
		}
	}
}

// spend takes one write from this minute's budget.
func (e *Events) spend(now time.Time) bool {
	if now.Sub(e.window) >= time.Minute {
		e.window, e.used = now, 0
	}
	if e.used >= e.PerMinute {
		return false
	}
	e.used++
	return true
}

func (e *Events) write(ctx context.Context, w eventWrite) error {
	name := e.name(w.key)
	if w.create {
		eventWrites.WithLabelValues("create").Inc()
		return e.Writer.Create(ctx, e.event(name, w.key, &w.st))
	}
	eventWrites.WithLabelValues("update").Inc()
	patch, err := json.Marshal(map[string]any{"count": w.st.count, "lastTimestamp": metav1.NewTime(w.st.last)})
	if err != nil {
		return err
	}
	return e.Writer.Patch(ctx, w.key.namespace, name, patch)
}

// name is the Event's name: the pod's, and a hash of the key (the pod's
// UID included) and the seed.
func (e *Events) name(k eventKey) string {
	h := fnv.New64a()
	for _, s := range []string{string(k.podUID), k.container, k.arch, k.syscall, k.action, e.seed} {
		_, _ = h.Write([]byte(s))
		_, _ = h.Write([]byte{0})
	}
	return fmt.Sprintf("%.200s.seccomp.%016x", k.pod, h.Sum64())
}

func (e *Events) event(name string, k eventKey, st *eventState) *corev1.Event {
	reason := ReasonDenied
	if k.action == "log" {
		reason = ReasonWouldDeny
	}
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name, Namespace: k.namespace},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: k.namespace, Name: k.pod, UID: k.podUID},
		Reason:              reason,
		Message:             Message(k.container, k.syscall, k.arch, st.nr, k.action, st.profile, st.declared),
		Source:              corev1.EventSource{Component: "seccomp-operator-agent", Host: e.Node},
		FirstTimestamp:      metav1.NewTime(st.first),
		LastTimestamp:       metav1.NewTime(st.last),
		Count:               int32(min(st.count, 1<<31-1)),
		Type:                corev1.EventTypeWarning,
		ReportingController: "seccomp-operator.dev/agent",
		ReportingInstance:   e.Node,
	}
}

// Message says in words what a violation Event reports and what to do.
func Message(container, syscall, arch string, nr int, action, profile, declared string) string {
	by := "profile " + declared
	fix := "give the container a profile that allows it"
	if profile != "" {
		by = "SeccompProfile " + profile
		fix = "allow it in SeccompProfile " + profile + " (kubectl edit seccompprofile " + profile + ")"
	}
	if action == "log" {
		return fmt.Sprintf("container %s: syscall %s (%s, number %d) would have been denied by %s, which only logs it (complain mode or a log rule); before enforcing, %s. 'seccompctl explain' reads an audit record in words.",
			container, syscall, arch, nr, by, fix)
	}
	return fmt.Sprintf("container %s: syscall %s (%s, number %d) was denied (%s) by %s; if the container needs it, %s. 'seccompctl explain' reads an audit record in words.",
		container, syscall, arch, nr, action, by, fix)
}

// KubeEvents writes Events through a core/v1 REST client.
type KubeEvents struct{ Core *rest.RESTClient }

func (k KubeEvents) Create(ctx context.Context, ev *corev1.Event) error {
	return k.Core.Post().Namespace(ev.Namespace).Resource("events").Body(ev).Do(ctx).Error()
}

func (k KubeEvents) Patch(ctx context.Context, namespace, name string, mergePatch []byte) error {
	return k.Core.Patch(types.MergePatchType).Namespace(namespace).Resource("events").Name(name).Body(mergePatch).Do(ctx).Error()
}
