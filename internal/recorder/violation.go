package recorder

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
)

// learnedKey caches whether a container's records under a profile are a
// recording's learned profile's.
type learnedKey struct {
	rec                     types.UID
	pod, container, profile string
}

// maxLearned bounds that cache (cleared when full).
const maxLearned = 4096

// violation adds one attributed seccomp record to the recordings it
// belongs to: under a recording's log profile (recorder log) to its log
// source; under a recording's learned profile (mode Applying) to complain
// when the action is log (the soak) and to enforce otherwise. Every other
// record returns after two map lookups: this runs on the enricher's
// record path.
func (c *core) violation(v nodekube.Violation) {
	if v.Profile == "" {
		return
	}
	s := c.snap.Load()
	if r := s.logProfiles[v.Profile]; r != nil {
		if r.Namespace == v.Namespace && recordings.RecordsContainer(r, v.Container) {
			c.addViolation(r, v, v1alpha1.RecordSourceLog, true)
		}
		return
	}
	if _, ok := s.applying[v.Namespace]; !ok {
		return
	}
	for _, r := range s.byNS[v.Namespace] {
		if r.EffectiveMode() != v1alpha1.RecordingModeApplying || !c.isLearned(r, v) {
			continue
		}
		src := v1alpha1.RecordSourceEnforce
		if v.Action == "log" {
			src = v1alpha1.RecordSourceComplain
		}
		c.addViolation(r, v, src, false)
	}
}

// isLearned reports whether v's profile is r's learned profile of v's
// container (hashing the names once per container and profile).
func (c *core) isLearned(r *v1alpha1.ProfileRecording, v nodekube.Violation) bool {
	k := learnedKey{rec: r.UID, pod: v.Pod, container: v.Container, profile: v.Profile}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok, hit := c.learned[k]; hit {
		return ok
	}
	ok := recordings.ProfileName(r, recordings.MergeKey(r, v.Pod, v.Container)) == v.Profile
	if len(c.learned) >= maxLearned {
		clear(c.learned)
	}
	c.learned[k] = ok
	return ok
}

func (c *core) addViolation(r *v1alpha1.ProfileRecording, v nodekube.Violation, src v1alpha1.RecordSource, fromStart bool) {
	t := target{key: key{recUID: r.UID, podUID: v.PodUID, container: v.Container, source: src}, recording: recordings.Key(r), pod: v.Pod}
	c.mu.Lock()
	defer c.mu.Unlock()
	if named(v.Syscall) {
		c.store.add(t, v.ABI, v.Syscall, fromStart)
	} else {
		c.store.addUnnamed(t, v.ABI+":#"+v.Syscall, fromStart)
	}
}

// named reports whether the enricher named the syscall (it gives the
// number in decimal when the ABI's table has no name for it).
func named(s string) bool { return s != "" && (s[0] < '0' || s[0] > '9') }
