package controller

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// Limits of a recording's status (the API's MaxItems): what is beyond them
// is counted in mergeResult.problems, never dropped silently.
const (
	maxStatusContainers = 256
	maxStatusSyscalls   = 1024
	maxStatusArches     = 16
	// maxStatusEntries bounds the syscall entries of all containers
	// together, so that a status stays well under the apiserver's object
	// size limit (mergeStrategy none: up to 256 containers of hundreds of
	// names each would not fit).
	maxStatusEntries = 16384
	// maxProblems is how many problems are named in a condition message;
	// the rest are counted.
	maxProblems = 5
)

// mergedContainer is one merge key's result: what the status shows and what
// the learned profile allows.
type mergedContainer struct {
	status v1alpha1.RecordedContainer
	// recorded is what the recorders saw (sources ebpf and log).
	recorded recording.Set
	// wouldDeny is what the profile in Complain mode would have denied
	// (source complain): added to the profile.
	wouldDeny recording.Set
	// pods are the UIDs of the recorded pods.
	pods map[string]struct{}
	// perSyscall are the UIDs of the recorded pods that made each name.
	perSyscall map[string]map[string]struct{}
	// byWorkload are the names some entry says the workload made, not
	// only the runtime's init (NodeRecording.RuntimeOnly): the others are
	// runtime-only.
	byWorkload map[string]struct{}
	arches     map[string]struct{}
	wouldNames map[string]struct{}
	denied     map[string]struct{}
}

// mergeResult is what the node states say of one recording.
type mergeResult struct {
	containers map[string]*mergedContainer
	nodes      []string
	// attached are the nodes whose recorder is attached.
	attached []string
	pods     map[string]struct{}
	// dropped is the nodes' recorder dropped + lost counters: node-wide,
	// so a loss on any node is reported on every recording.
	dropped int64
	denials bool
	// problems say what of the persisted entries could not be used, and
	// problemCount how many there were in all.
	problems     []string
	problemCount int
}

func (m *mergeResult) problem(format string, args ...any) {
	m.problemCount++
	if len(m.problems) < maxProblems {
		m.problems = append(m.problems, fmt.Sprintf(format, args...))
	}
}

// problemSummary is the problems in one sentence, "" when none.
func (m *mergeResult) problemSummary() string {
	if m.problemCount == 0 {
		return ""
	}
	s := strings.Join(m.problems, "; ")
	if more := m.problemCount - len(m.problems); more > 0 {
		s += fmt.Sprintf("; and %d more", more)
	}
	return fmt.Sprintf("%d problem(s) in the nodes' results: %s", m.problemCount, s)
}

// mergeRecordings merges the entries of r (by UID: another recording of the
// same name is ignored) in the node states. It never panics on what the
// states hold: an entry or name it cannot use is counted and described in
// problems.
func mergeRecordings(r *v1alpha1.ProfileRecording, nodes []v1alpha1.SeccompNodeStatus) *mergeResult {
	m := &mergeResult{containers: map[string]*mergedContainer{}, pods: map[string]struct{}{}}
	uid := string(r.UID)
	for i := range nodes {
		n := &nodes[i]
		if rec := n.Status.Recorder; rec != nil {
			if rec.Dropped > 0 {
				m.dropped += rec.Dropped
			}
			if rec.Lost > 0 {
				m.dropped += rec.Lost
			}
			if rec.Attached {
				m.attached = append(m.attached, n.Name)
			}
		}
		recorded := false
		for j := range n.Status.Recordings {
			e := &n.Status.Recordings[j]
			if e.RecordingUID != uid || uid == "" {
				continue
			}
			if m.add(r, n.Name, e) && (e.Source == v1alpha1.RecordSourceEBPF || e.Source == v1alpha1.RecordSourceLog) {
				recorded = true
			}
		}
		if recorded {
			m.nodes = append(m.nodes, n.Name)
		}
	}
	slices.Sort(m.nodes)
	m.nodes = slices.Compact(m.nodes)
	slices.Sort(m.attached)
	m.attached = slices.Compact(m.attached)
	for _, c := range m.containers {
		c.fill()
	}
	return m
}

// add merges one entry; false when it was unusable.
func (m *mergeResult) add(r *v1alpha1.ProfileRecording, node string, e *v1alpha1.NodeRecording) bool {
	where := fmt.Sprintf("node %s pod %q container %q", node, e.Pod, e.Container)
	if e.Pod == "" || e.PodUID == "" || e.Container == "" {
		m.problem("%s: entry without pod, pod UID or container", where)
		return false
	}
	switch e.Source {
	case v1alpha1.RecordSourceEBPF, v1alpha1.RecordSourceLog, v1alpha1.RecordSourceComplain, v1alpha1.RecordSourceEnforce:
	default:
		m.problem("%s: unknown source %q", where, e.Source)
		return false
	}
	// The ABIs the entry's names are read with: only those with a table.
	var abis []*syscalls.Arch
	for _, name := range e.Architectures {
		a, ok := syscalls.Get(name)
		if !ok || !a.HasTable {
			m.problem("%s: unknown architecture %q", where, name)
			continue
		}
		if !slices.Contains(abis, a) {
			abis = append(abis, a)
		}
	}
	if len(abis) == 0 && len(e.Syscalls) > 0 {
		m.problem("%s: %d syscall(s) with no known architecture to read them with", where, len(e.Syscalls))
		return false
	}
	key := recordings.MergeKey(r, e.Pod, e.Container)
	c := m.containers[key]
	if c == nil {
		c = &mergedContainer{status: v1alpha1.RecordedContainer{Name: key}, pods: map[string]struct{}{},
			perSyscall: map[string]map[string]struct{}{}, byWorkload: map[string]struct{}{}, arches: map[string]struct{}{},
			wouldNames: map[string]struct{}{}, denied: map[string]struct{}{}}
		m.containers[key] = c
	}
	var set *recording.Set
	switch e.Source {
	case v1alpha1.RecordSourceEBPF, v1alpha1.RecordSourceLog:
		set = &c.recorded
		c.pods[e.PodUID] = struct{}{}
		m.pods[e.PodUID] = struct{}{}
		for _, a := range abis {
			c.arches[a.Name] = struct{}{}
		}
	case v1alpha1.RecordSourceComplain:
		set = &c.wouldDeny
	case v1alpha1.RecordSourceEnforce:
		// Denials of the enforced profile are reported, never added: a
		// denial then may be an attack the profile stopped.
		for _, s := range e.Syscalls {
			c.denied[s] = struct{}{}
		}
		if len(e.Syscalls) > 0 {
			m.denials = true
		}
		return true
	}
	// A runtime-only name the entry does not list in Syscalls marks
	// nothing.
	runtimeOnly := make(map[string]struct{}, len(e.RuntimeOnly))
	for _, s := range e.RuntimeOnly {
		runtimeOnly[s] = struct{}{}
	}
	for _, s := range e.Syscalls {
		known := false
		for _, a := range abis {
			// The entry names each syscall with its own ABI's table but
			// does not say which ABI made it: the name is allowed on every
			// ABI of the entry that has it.
			if _, ok := a.Lookup(s); ok {
				set.Add(a.Name, s)
				known = true
			}
		}
		if !known {
			m.problem("%s: syscall %q is in no table of %s", where, s, strings.Join(e.Architectures, ","))
			continue
		}
		if e.Source == v1alpha1.RecordSourceComplain {
			c.wouldNames[s] = struct{}{}
			continue
		}
		p := c.perSyscall[s]
		if p == nil {
			p = map[string]struct{}{}
			c.perSyscall[s] = p
		}
		p[e.PodUID] = struct{}{}
		if _, rt := runtimeOnly[s]; !rt {
			c.byWorkload[s] = struct{}{}
		}
	}
	return true
}

// fill writes the status form of c.
func (c *mergedContainer) fill() {
	c.status.Replicas = int32(len(c.pods))
	c.status.Architectures = sortedKeys(c.arches)
	c.status.Syscalls = make([]v1alpha1.RecordedSyscall, 0, len(c.perSyscall))
	for _, name := range sortedKeys(c.perSyscall) {
		_, byWorkload := c.byWorkload[name]
		c.status.Syscalls = append(c.status.Syscalls, v1alpha1.RecordedSyscall{Name: name, Replicas: int32(len(c.perSyscall[name])), RuntimeOnly: !byWorkload})
	}
	c.status.WouldDeny = nilIfEmpty(sortedKeys(c.wouldNames))
	c.status.Denied = nilIfEmpty(sortedKeys(c.denied))
	if len(c.status.Syscalls) == 0 {
		c.status.Syscalls = nil
	}
}

// profileSet is what the learned profile of c allows: what was recorded and
// what would have been denied during the soak.
func (c *mergedContainer) profileSet() *recording.Set {
	var s recording.Set
	s.Merge(&c.recorded)
	s.Merge(&c.wouldDeny)
	return &s
}

// coverage is the AnnotationRecordingCoverage value of c: the replicas
// recorded, then "name=n" for each syscall fewer replicas made.
func (c *mergedContainer) coverage() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(len(c.pods)))
	for _, s := range c.status.Syscalls {
		if int(s.Replicas) < len(c.pods) {
			fmt.Fprintf(&b, ",%s=%d", s.Name, s.Replicas)
		}
	}
	return b.String()
}

// statusContainers are the merged containers in status form, sorted by
// name and cut to the API's limits (each cut is a problem).
func (m *mergeResult) statusContainers() []v1alpha1.RecordedContainer {
	keys := sortedKeys(m.containers)
	if len(keys) > maxStatusContainers {
		m.problem("%d containers merged, the status shows the first %d (the profiles are created for all)", len(keys), maxStatusContainers)
		keys = keys[:maxStatusContainers]
	}
	out := make([]v1alpha1.RecordedContainer, 0, len(keys))
	budget, cut := maxStatusEntries, 0
	for _, k := range keys {
		st := *m.containers[k].status.DeepCopy()
		for _, l := range []*[]string{&st.WouldDeny, &st.Denied, &st.Architectures} {
			limit := maxStatusSyscalls
			if l == &st.Architectures {
				limit = maxStatusArches
			}
			if len(*l) > limit {
				m.problem("container %s: %d names, the status shows %d", k, len(*l), limit)
				*l = (*l)[:limit]
			}
		}
		if len(st.Syscalls) > maxStatusSyscalls {
			m.problem("container %s: %d syscalls, the status shows %d (the profile has all)", k, len(st.Syscalls), maxStatusSyscalls)
			st.Syscalls = st.Syscalls[:maxStatusSyscalls]
		}
		if len(st.Syscalls) > budget {
			cut++
			st.Syscalls = st.Syscalls[:budget]
		}
		budget -= len(st.Syscalls)
		out = append(out, st)
	}
	if cut > 0 {
		m.problem("the status shows at most %d syscalls over all containers: %d container(s) shown in part (their profiles have all)", maxStatusEntries, cut)
	}
	return out
}

// learnedProfile is the SeccompProfile spec learned for c: the recorded
// and would-be-denied syscalls, with the architectures of every family an
// ABI seen belongs to. A family nothing was recorded on is not listed: its
// names were never seen, and a pod of that family is better stopped by the
// runtime's bad-architecture action than run under a guess.
func learnedProfile(c *mergedContainer, mode v1alpha1.Mode) v1alpha1.SeccompProfileSpec {
	set := c.profileSet()
	var natives []string
	for _, abi := range set.ABIs() {
		if a, ok := syscalls.Get(abi); ok {
			n := a.Native
			if n == "" {
				n = a.Name
			}
			if !slices.Contains(natives, n) {
				natives = append(natives, n)
			}
		}
	}
	slices.Sort(natives)
	opts := recording.ProfileOptions{}
	if len(natives) > 0 {
		opts.Native = natives[0]
	}
	p := recording.Profile(set, opts)
	for _, n := range natives[min(1, len(natives)):] {
		for _, a := range syscalls.Family(n) {
			if !slices.Contains(p.Architectures, a.SCMP()) {
				p.Architectures = append(p.Architectures, a.SCMP())
			}
		}
	}
	slices.Sort(p.Architectures)
	spec := v1alpha1.SpecFromProfile(p)
	spec.Mode = mode
	return spec
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
