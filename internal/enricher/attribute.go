package enricher

import (
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Record is what attribution reads of one parsed seccomp record.
type Record struct {
	PID int
	// Arch is the name of the record's ABI ("x86_64", "i386"), Syscall the
	// syscall's name in that ABI's table (its number when the table has no
	// name for it), Nr its number.
	Arch, Syscall string
	Nr            int
	// Action is the verdict in the metric's words (errno, kill_process,
	// kill_thread, trap, log, …).
	Action string
}

// ParseFunc parses one record's payload.
type ParseFunc func(payload []byte) (Record, error)

// attributor turns records into violations of containers.
type attributor struct {
	parse ParseFunc
	procs Processes
	index *podIndex
	// observe is told of every attributed record (the Events).
	observe func(c *container, r Record)
	// probes tells probes answered ENOSYS on purpose from denials (nil:
	// every record is a violation).
	probes *Probes

	// counters caches the violation counter of each (container, syscall,
	// action): a record then costs no label hashing.
	mu       sync.Mutex
	counters map[counterKey]prometheus.Counter

	pend pending
	now  func() time.Time
}

type counterKey struct {
	namespace, pod, container, profile string
	arch, action                       string
	nr                                 int
}

func newAttributor(parse ParseFunc, procs Processes, index *podIndex, observe func(*container, Record)) *attributor {
	return &attributor{parse: parse, procs: procs, index: index, observe: observe, counters: map[counterKey]prometheus.Counter{}, now: time.Now}
}

// handle counts one record's payload: malformed, unattributed with its
// reason, or a violation of a container.
func (a *attributor) handle(payload []byte) {
	records.WithLabelValues(ResultRead).Inc()
	r, err := a.parse(payload)
	if err != nil {
		records.WithLabelValues(ResultMalformed).Inc()
		return
	}
	c, id, reason := a.attribute(&r)
	switch {
	case c != nil:
		a.count(c, r)
	case reason == ReasonNoPod:
		a.hold(id, r) // its pod's status may name it in a moment
	default:
		countUnattributed(reason)
	}
}

// count counts an attributed record: a violation, or a probe its profile
// answers ENOSYS on purpose.
func (a *attributor) count(c *container, r Record) {
	if a.probes.IsProbe(c.Profile, r) {
		records.WithLabelValues(ResultProbe).Inc()
		return
	}
	records.WithLabelValues(ResultAttributed).Inc()
	a.counter(c, &r).Inc()
	if a.observe != nil {
		a.observe(c, r)
	}
}

func countUnattributed(reason string) {
	records.WithLabelValues(ResultUnattributed).Inc()
	unattributed.WithLabelValues(reason).Inc()
}

// attribute finds the record's container, or says why it cannot (with the
// container's ID when no pod has it).
func (a *attributor) attribute(r *Record) (*container, string, string) {
	id, ok := a.procs.ContainerID(r.PID)
	switch {
	case !ok:
		return nil, "", ReasonNoProcess
	case id == "":
		return nil, "", ReasonNotContainer
	}
	c := a.index.get(id)
	if c == nil {
		return nil, id, ReasonNoPod
	}
	return c, id, ""
}

func (a *attributor) counter(c *container, r *Record) prometheus.Counter {
	k := counterKey{namespace: c.Namespace, pod: c.Pod, container: c.Name, profile: c.Label(), arch: r.Arch, action: r.Action, nr: r.Nr}
	a.mu.Lock()
	defer a.mu.Unlock()
	if m, ok := a.counters[k]; ok {
		return m
	}
	name := r.Syscall
	if name == "" {
		name = strconv.Itoa(r.Nr)
	}
	m := violations.WithLabelValues(c.Namespace, c.Pod, c.Name, c.Label(), name, r.Action)
	a.counters[k] = m
	return m
}

// forgetPod drops a deleted pod's series and cached counters.
func (a *attributor) forgetPod(namespace, pod string) {
	a.mu.Lock()
	for k := range a.counters {
		if k.namespace == namespace && k.pod == pod {
			delete(a.counters, k)
		}
	}
	a.mu.Unlock()
	violations.DeletePartialMatch(prometheus.Labels{"namespace": namespace, "pod": pod})
}
