package enricher

import (
	"slices"
	"strconv"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
)

// dryRuns collects what the containers running the dry-run profile (the
// node's runtime default with every refusal turned into SCMP_ACT_LOG, the
// agent's installer writes it) logged: per container, per ABI, the
// syscalls RuntimeDefault would have refused. The node state carries it
// (ContainerSeccompState.dryRun) for `seccompctl audit --seccomp-default`.
type dryRuns struct {
	mu   sync.Mutex
	byID map[string]*dryRunEntry // bare container ID
	now  func() time.Time
}

// maxDryRunABIs bounds the ABIs kept per container (the CRD's MaxItems).
const maxDryRunABIs = 8

type dryRunEntry struct {
	since  time.Time
	logged map[string]map[string]bool // ABI -> names
	// dropped counts names beyond the bounds.
	dropped int32
	// restored: the node state's earlier report of this container (an
	// agent restart) has been merged in.
	restored bool
}

func newDryRuns() *dryRuns {
	return &dryRuns{byID: map[string]*dryRunEntry{}, now: time.Now}
}

// entry returns the container's entry, made when first seen. Called with
// mu held.
func (d *dryRuns) entry(id string) *dryRunEntry {
	e := d.byID[id]
	if e == nil {
		e = &dryRunEntry{since: d.now().Truncate(time.Second), logged: map[string]map[string]bool{}}
		d.byID[id] = e
	}
	return e
}

func (e *dryRunEntry) add(abi, name string) {
	names := e.logged[abi]
	if names == nil {
		if len(e.logged) >= maxDryRunABIs {
			e.dropped++
			return
		}
		names = map[string]bool{}
		e.logged[abi] = names
	}
	if names[name] {
		return
	}
	if len(names) >= v1alpha1.MaxDryRunSyscalls {
		e.dropped++
		return
	}
	names[name] = true
}

// observe takes one attributed record: a would-be refusal when the
// container runs the dry-run profile and the verdict is log.
func (d *dryRuns) observe(c *container, r Record) {
	if c.Declared != seccompdefault.DeclaredDryRun || r.Action != "log" {
		return
	}
	name := r.Syscall
	if !named(name) {
		name = "#" + strconv.Itoa(r.Nr)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.entry(BareID(c.ID)).add(r.Arch, name)
}

// named reports whether the parser named the syscall (it gives the number
// in decimal when the ABI's table has no name for it).
func named(s string) bool { return s != "" && (s[0] < '0' || s[0] > '9') }

// dryRunForget is how long an entry of a container no scan lists is kept:
// records can come before the scan that lists a new container.
const dryRunForget = time.Minute

// fill sets the dryRun of the states that run the dry-run profile, merging
// once what the node state (stored) reported of the same container before
// an agent restart; entries of containers gone are dropped.
func (d *dryRuns) fill(states []v1alpha1.ContainerSeccompState, stored []v1alpha1.ContainerSeccompState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	seen := map[string]bool{}
	for i := range states {
		st := &states[i]
		if st.Declared != seccompdefault.DeclaredDryRun {
			continue
		}
		id := BareID(st.ContainerID)
		seen[id] = true
		e := d.entry(id)
		if !e.restored {
			e.restored = true
			if old := findStored(stored, st.ContainerID); old != nil && old.DryRun != nil {
				for _, l := range old.DryRun.Logged {
					for _, n := range l.Syscalls {
						e.add(l.ABI, n)
					}
				}
				e.dropped += old.DryRun.Dropped
			}
		}
		st.DryRun = e.report()
	}
	for id, e := range d.byID {
		if !seen[id] && d.now().Sub(e.since) > dryRunForget {
			delete(d.byID, id)
		}
	}
}

func findStored(stored []v1alpha1.ContainerSeccompState, id string) *v1alpha1.ContainerSeccompState {
	for i := range stored {
		if stored[i].ContainerID == id && id != "" {
			return &stored[i]
		}
	}
	return nil
}

// report is the entry as the node state carries it, sorted.
func (e *dryRunEntry) report() *v1alpha1.ContainerDryRun {
	out := &v1alpha1.ContainerDryRun{Since: metav1.NewTime(e.since), Dropped: e.dropped}
	for abi, names := range e.logged {
		l := v1alpha1.DryRunSyscalls{ABI: abi, Syscalls: make([]string, 0, len(names))}
		for n := range names {
			l.Syscalls = append(l.Syscalls, n)
		}
		slices.Sort(l.Syscalls)
		out.Logged = append(out.Logged, l)
	}
	slices.SortFunc(out.Logged, func(a, b v1alpha1.DryRunSyscalls) int {
		if a.ABI < b.ABI {
			return -1
		}
		if a.ABI > b.ABI {
			return 1
		}
		return 0
	})
	return out
}
