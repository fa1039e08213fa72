package enricher

import (
	"strings"
	"sync"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

// container is what the enricher knows of one container of a pod on the
// node, computed once per pod version so that a record costs map lookups.
type container struct {
	Namespace, Pod, Name string
	PodUID               types.UID
	// ID is the runtime's ID as the pod's status has it
	// ("containerd://<hex>").
	ID string
	// Declared is the effective profile the pod declares (podprofile):
	// RuntimeDefault, Unconfined, Localhost/<path> or NodeDefault; Profile
	// the SeccompProfile whose file that path is, if any.
	Declared, Profile string
	Privileged        bool
}

// Label is the metric's and the Event's profile: the SeccompProfile's
// name, else the declared profile.
func (c *container) Label() string {
	if c.Profile != "" {
		return c.Profile
	}
	return c.Declared
}

// BareID is a runtime container ID without its "<runtime>://" prefix: the
// form a process's cgroup path carries.
func BareID(id string) string {
	if _, after, ok := strings.Cut(id, "://"); ok {
		return after
	}
	return id
}

// podIndex maps the runtime IDs of the node's containers to their pods,
// kept from the shared pod informer's events (no API call per record).
type podIndex struct {
	mu    sync.RWMutex
	byID  map[string]*container // bare ID
	byPod map[types.UID][]string
}

func newPodIndex() *podIndex {
	return &podIndex{byID: map[string]*container{}, byPod: map[types.UID][]string{}}
}

// set indexes pod's containers that have an ID, replacing its earlier
// version.
func (x *podIndex) set(pod *corev1.Pod) {
	var cs []*container
	add := func(statuses []corev1.ContainerStatus) {
		for _, s := range statuses {
			if s.ContainerID == "" {
				continue
			}
			d := podprofile.Declare(pod, s.Name)
			c := &container{Namespace: pod.Namespace, Pod: pod.Name, Name: s.Name, PodUID: pod.UID, ID: s.ContainerID,
				Declared: d.Declared, Profile: d.Profile, Privileged: d.Privileged}
			cs = append(cs, c)
		}
	}
	add(pod.Status.InitContainerStatuses)
	add(pod.Status.ContainerStatuses)
	add(pod.Status.EphemeralContainerStatuses)
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(pod.UID)
	if len(cs) == 0 {
		return
	}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = BareID(c.ID)
		x.byID[ids[i]] = c
	}
	x.byPod[pod.UID] = ids
}

// remove forgets a deleted pod's containers.
func (x *podIndex) remove(uid types.UID) {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.removeLocked(uid)
}

func (x *podIndex) removeLocked(uid types.UID) {
	for _, id := range x.byPod[uid] {
		if c := x.byID[id]; c != nil && c.PodUID == uid {
			delete(x.byID, id)
		}
	}
	delete(x.byPod, uid)
}

// get returns the container with a bare runtime ID, nil if none.
func (x *podIndex) get(bareID string) *container {
	x.mu.RLock()
	defer x.mu.RUnlock()
	return x.byID[bareID]
}

// all returns every indexed container (shared: read only).
func (x *podIndex) all() []*container {
	x.mu.RLock()
	defer x.mu.RUnlock()
	out := make([]*container, 0, len(x.byID))
	for _, c := range x.byID {
		out = append(out, c)
	}
	return out
}
