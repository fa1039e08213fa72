package recorder

import (
	"cmp"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
)

// key names one node recording: a recording (by UID, which tells it from a
// later one of the same name), a pod, a container and a source.
type key struct {
	recUID    types.UID
	podUID    string
	container string
	source    v1alpha1.RecordSource
}

// target is what a recorded syscall is added to: the key and what the node
// state says of it besides the syscalls.
type target struct {
	key
	recording string // "<namespace>/<name>"
	pod       string
}

// maxSyscalls and maxArchitectures are the node state's limits of one
// entry (the CRD's MaxItems): a longer list would be refused whole.
const (
	maxSyscalls      = 1024
	maxArchitectures = 16
)

// record is one node recording in memory.
type record struct {
	target
	fromStart bool
	archs     map[string]struct{}
	names     map[string]struct{}
	// runtimeOnly are the names (of names) that only the runtime's init
	// made so far: one the workload makes too leaves it for good.
	runtimeOnly map[string]struct{}
	// unnamed holds the syscalls no table names ("abi:#nr": a kernel newer
	// than the tables), which a profile cannot name: counted, not kept.
	unnamed map[string]struct{}
	// out caches the sorted lists, nil when they changed since.
	outArchs, outNames, outRuntime []string
}

// store holds the node recordings, at most max of them; a new one beyond
// is dropped and counted once.
type store struct {
	max     int
	records map[key]*record
	// dropped counts the keys refused for want of room; droppedKeys
	// remembers them (up to maxDroppedKeys) so each counts once.
	dropped     int64
	droppedKeys map[key]struct{}
}

const maxDroppedKeys = 8 * v1alpha1.MaxNodeRecordings

func newStore(maxRecords int) *store {
	return &store{max: maxRecords, records: map[key]*record{}, droppedKeys: map[key]struct{}{}}
}

// get returns the record of t, created if there is room, nil if not (then
// counted in dropped).
func (s *store) get(t target) *record {
	if r := s.records[t.key]; r != nil {
		return r
	}
	if len(s.records) >= s.max {
		if _, seen := s.droppedKeys[t.key]; !seen {
			s.dropped++
			if len(s.droppedKeys) < maxDroppedKeys {
				s.droppedKeys[t.key] = struct{}{}
			}
		}
		return nil
	}
	r := &record{target: t, archs: map[string]struct{}{}, names: map[string]struct{}{}, runtimeOnly: map[string]struct{}{}}
	s.records[t.key] = r
	return r
}

// addSet adds a kernel entry's syscalls to t's record, those in
// runtimeOnly (nil: none) as made only by the runtime's init; it reports
// whether the record changed.
func (s *store) addSet(t target, set, runtimeOnly *recording.Set, fromStart bool) bool {
	r := s.get(t)
	if r == nil {
		return false
	}
	changed := false
	if fromStart && !r.fromStart {
		r.fromStart, changed = true, true
	}
	for _, abi := range set.ABIs() {
		if r.addArch(abi) {
			changed = true
		}
		var rt []string
		if runtimeOnly != nil {
			rt = runtimeOnly.NamesOf(abi)
		}
		for _, n := range set.NamesOf(abi) {
			if r.addName(n, slices.Contains(rt, n)) {
				changed = true
			}
		}
	}
	for _, u := range set.Unnamed() {
		if r.unnamed == nil {
			r.unnamed = map[string]struct{}{}
		}
		r.unnamed[u] = struct{}{}
	}
	return changed
}

// add adds one syscall (a violation's) to t's record.
func (s *store) add(t target, abi, name string, fromStart bool) bool {
	r := s.get(t)
	if r == nil {
		return false
	}
	changed := r.addArch(abi)
	if r.addName(name, false) {
		changed = true
	}
	if fromStart && !r.fromStart {
		r.fromStart, changed = true, true
	}
	return changed
}

// addUnnamed keeps, for the count, a syscall no table names.
func (s *store) addUnnamed(t target, u string, fromStart bool) {
	r := s.get(t)
	if r == nil {
		return
	}
	if r.unnamed == nil {
		r.unnamed = map[string]struct{}{}
	}
	r.unnamed[u] = struct{}{}
	r.fromStart = r.fromStart || fromStart
}

func (r *record) addArch(abi string) bool {
	if _, ok := r.archs[abi]; ok || len(r.archs) >= maxArchitectures {
		return false
	}
	r.archs[abi] = struct{}{}
	r.outArchs = nil
	return true
}

// addName adds a name, made only by the runtime's init (runtime) or by
// the workload; a name the workload makes is no longer runtime-only.
func (r *record) addName(n string, runtime bool) bool {
	if _, ok := r.names[n]; ok {
		if _, was := r.runtimeOnly[n]; was && !runtime {
			delete(r.runtimeOnly, n)
			r.outRuntime = nil
			return true
		}
		return false
	}
	if len(r.names) >= maxSyscalls {
		return false
	}
	r.names[n] = struct{}{}
	r.outNames = nil
	if runtime {
		r.runtimeOnly[n] = struct{}{}
		r.outRuntime = nil
	}
	return true
}

// forget drops the records of recordings keep says no to (deleted, or a
// new recording under the same name), and their dropped keys.
func (s *store) forget(keep func(recUID types.UID) bool) bool {
	changed := false
	for k := range s.records {
		if !keep(k.recUID) {
			delete(s.records, k)
			changed = true
		}
	}
	for k := range s.droppedKeys {
		if !keep(k.recUID) {
			delete(s.droppedKeys, k)
		}
	}
	return changed
}

// restore loads the node state's recordings (the agent's earlier life)
// whose recording keep accepts.
func (s *store) restore(recs []v1alpha1.NodeRecording, keep func(recording string, uid types.UID) bool) {
	for i := range recs {
		nr := &recs[i]
		uid := types.UID(nr.RecordingUID)
		if !keep(nr.Recording, uid) {
			continue
		}
		t := target{key: key{recUID: uid, podUID: nr.PodUID, container: nr.Container, source: nr.Source}, recording: nr.Recording, pod: nr.Pod}
		r := s.get(t)
		if r == nil {
			continue
		}
		r.fromStart = r.fromStart || nr.FromStart
		for _, a := range nr.Architectures {
			r.addArch(a)
		}
		rt := make(map[string]struct{}, len(nr.RuntimeOnly))
		for _, n := range nr.RuntimeOnly {
			rt[n] = struct{}{}
		}
		for _, n := range nr.Syscalls {
			_, runtime := rt[n]
			r.addName(n, runtime)
		}
	}
}

// list is the node state's recordings, sorted by recording, pod,
// container and source.
func (s *store) list() []v1alpha1.NodeRecording {
	out := make([]v1alpha1.NodeRecording, 0, len(s.records))
	for _, r := range s.records {
		if r.outArchs == nil {
			r.outArchs = sortedKeys(r.archs)
		}
		if r.outNames == nil {
			r.outNames = sortedKeys(r.names)
		}
		if r.outRuntime == nil && len(r.runtimeOnly) > 0 {
			r.outRuntime = sortedKeys(r.runtimeOnly)
		}
		out = append(out, v1alpha1.NodeRecording{Recording: r.recording, RecordingUID: string(r.recUID), Pod: r.pod, PodUID: r.podUID,
			Container: r.container, Source: r.source, FromStart: r.fromStart, Architectures: r.outArchs, Syscalls: r.outNames,
			RuntimeOnly: r.outRuntime})
	}
	slices.SortFunc(out, func(a, b v1alpha1.NodeRecording) int {
		return cmp.Or(cmp.Compare(a.Recording, b.Recording), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Container, b.Container),
			cmp.Compare(a.Source, b.Source), cmp.Compare(a.PodUID, b.PodUID), cmp.Compare(a.RecordingUID, b.RecordingUID))
	})
	return out
}

// unnamed is the number of distinct unnamed syscalls over the records.
func (s *store) unnamed() int {
	n := 0
	for _, r := range s.records {
		n += len(r.unnamed)
	}
	return n
}

func sortedKeys(m map[string]struct{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
