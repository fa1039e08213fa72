package enricher

import (
	"cmp"
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// NodeState is the node's SeccompNodeStatus as the shared informer has it,
// and the write the enricher makes (nodekube.Node).
type NodeState interface {
	NodeState() *v1alpha1.SeccompNodeStatus
	PatchNodeState(ctx context.Context, mergePatch []byte) (string, error)
}

// containerStates reads the real mode of every running container of the
// index: the pods' containers whose processes the kernel has. A container
// whose processes disagree, or none of which could be read, is Unknown;
// Filters is the fewest filters any of its processes runs under (the
// weakest). Sorted by namespace, pod and container.
func containerStates(k Kernel, cs []*container) ([]v1alpha1.ContainerSeccompState, error) {
	running, err := k.Containers()
	if err != nil {
		return nil, err
	}
	out := make([]v1alpha1.ContainerSeccompState, 0, len(cs))
	for _, c := range cs {
		pids := running[BareID(c.ID)]
		if len(pids) == 0 {
			continue
		}
		st := v1alpha1.ContainerSeccompState{Namespace: c.Namespace, Pod: c.Pod, Container: c.Name, ContainerID: c.ID,
			Declared: c.Declared, Profile: c.Profile, Privileged: c.Privileged}
		var mode v1alpha1.SeccompMode
		filters := -1
		read := 0
		for _, pid := range pids {
			pm, n, err := k.Seccomp(pid)
			if err != nil {
				continue // exited since the scan, or unreadable
			}
			read++
			switch {
			case mode == "":
				mode = pm
			case mode != pm:
				mode = v1alpha1.SeccompModeUnknown
			}
			if pm == v1alpha1.SeccompModeFilter && (filters < 0 || n < filters) {
				filters = n
			}
		}
		if read == 0 {
			mode = v1alpha1.SeccompModeUnknown
		}
		st.Mode = mode
		if mode == v1alpha1.SeccompModeFilter && filters > 0 {
			st.Filters = int32(filters)
		}
		out = append(out, st)
	}
	slices.SortFunc(out, func(a, b v1alpha1.ContainerSeccompState) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Pod, b.Pod), cmp.Compare(a.Container, b.Container))
	})
	return out, nil
}

// maxContainers is the node state's limit (the CRD's MaxItems): a longer
// list would be refused whole.
const maxContainers = 4096

// capContainers keeps the first maxContainers entries.
func capContainers(states []v1alpha1.ContainerSeccompState) []v1alpha1.ContainerSeccompState {
	if len(states) > maxContainers {
		return states[:maxContainers]
	}
	return states
}

// setContainersGauge counts containers by namespace and mode.
func setContainersGauge(states []v1alpha1.ContainerSeccompState) {
	type key struct{ ns, mode string }
	counts := map[key]int{}
	for _, s := range states {
		counts[key{s.Namespace, string(s.Mode)}]++
	}
	containersGauge.Reset()
	for k, n := range counts {
		containersGauge.WithLabelValues(k.ns, k.mode).Set(float64(n))
	}
}

// maxMessage is the node state's limit of records.message.
const maxMessage = 1024

// sourceState is the record source's state, as the node state shows it.
type sourceState struct {
	mu       sync.Mutex
	name     string
	reading  bool
	message  string
	lost     uint64
	lastLoss time.Time
}

func (s *sourceState) set(reading bool, message string) {
	if len(message) > maxMessage {
		message = message[:maxMessage-3] + "..."
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading, s.message = reading, message
}

// records returns the node state's records given the source's stats now.
func (s *sourceState) records(stats SourceStats, now time.Time) *v1alpha1.NodeRecords {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := stats.Lost(); l > s.lost {
		s.lost, s.lastLoss = l, now
	}
	r := &v1alpha1.NodeRecords{Source: s.name, Reading: s.reading, Lost: int64(s.lost), Message: s.message}
	if r.Message == "" && s.lost > 0 {
		r.Message = "seccomp records were lost (seccomp_operator_agent_audit_records_lost_total says how): raise net.core.rmem_max and check the agent's CPU limit (docs/violations.md)"
	}
	if !s.lastLoss.IsZero() {
		t := metav1.NewTime(s.lastLoss.Truncate(time.Second))
		r.LastLossTime = &t
	}
	return r
}

// statePatch returns the merge patch that brings cur's containers and
// records to the wanted ones, nil when they are equal (no write).
func statePatch(cur *v1alpha1.SeccompNodeStatus, containers []v1alpha1.ContainerSeccompState, rec *v1alpha1.NodeRecords) ([]byte, error) {
	status := map[string]any{}
	if !equality.Semantic.DeepEqual(normal(cur.Status.Containers), normal(containers)) {
		if len(containers) == 0 {
			status["containers"] = nil // a merge patch's null removes the field
		} else {
			status["containers"] = containers
		}
	}
	if rec != nil && !equality.Semantic.DeepEqual(cur.Status.Records, rec) {
		status["records"] = rec
	}
	if len(status) == 0 {
		return nil, nil
	}
	return json.Marshal(map[string]any{"status": status})
}

// normal makes an empty list and a missing one equal.
func normal(cs []v1alpha1.ContainerSeccompState) []v1alpha1.ContainerSeccompState {
	if len(cs) == 0 {
		return nil
	}
	return cs
}
