package seccompdefault

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// EvidenceKind says where evidence of what a container does comes from.
type EvidenceKind string

const (
	// EvidenceRecording: a ProfileRecording's merged syscalls for the
	// container (status.containers[]).
	EvidenceRecording EvidenceKind = "recording"
	// EvidenceProfile: the SeccompProfile learned for the container by a
	// recording (with what its soak would have denied).
	EvidenceProfile EvidenceKind = "profile"
)

// Evidence is one source of what a container uses, as the allow-list
// profile of it that defaultcheck compares with the default.
type Evidence struct {
	Kind EvidenceKind `json:"kind"`
	// Source names it: "ProfileRecording shop/web, app (3 replicas)".
	Source string `json:"source"`
	// Recording is the ProfileRecording ("namespace/name") it comes from,
	// if any; Profile the SeccompProfile.
	Recording string `json:"recording,omitempty"`
	Profile   string `json:"profile,omitempty"`
	// Since and Soaked (dry run): since when the container's records were
	// watched under the dry run, and for how long at the report's time.
	Since  *metav1.Time `json:"since,omitempty"`
	Soaked string       `json:"soaked,omitempty"`
	// Incomplete (dry run) says why it may have missed records: it can
	// then show breakage, not safety.
	Incomplete string `json:"incomplete,omitempty"`
	// RuntimeOnly are the syscalls left out of it: the recording saw
	// only the container runtime's init make them, before it exec'd the
	// container's process (runc's set-up of an unconfined container:
	// mount, pivot_root, keyctl, ...). The runtime loads RuntimeDefault
	// after them, so it never meets them. A learned profile allows them
	// (the recorded workload ran without a filter); they are left out of
	// it too, unless its soak would have denied them.
	RuntimeOnly []string `json:"runtimeOnly,omitempty"`

	// id identifies the evidence for caching verdicts.
	id string
	// uses is what the container was seen to use (for a dry run: what
	// it logged; nil when nothing).
	uses *profile.Profile
	soak time.Duration
}

// Sources are the cluster's objects evidence comes from. Its methods
// cache what they build: one Sources serves a whole report.
type Sources struct {
	Recordings []v1alpha1.ProfileRecording
	// Profiles are the SeccompProfiles by name (those recordings learned).
	Profiles map[string]*v1alpha1.SeccompProfile

	built map[string]*profile.Profile
}

// For returns the evidence of the pod's container: every recording that
// selects it and has an entry under its merge key, and that entry's learned
// profile when it exists.
func (s *Sources) For(pod *corev1.Pod, container string) []Evidence {
	if s.built == nil {
		s.built = map[string]*profile.Profile{}
	}
	var out []Evidence
	for i := range s.Recordings {
		r := &s.Recordings[i]
		if !recordings.Selects(r, pod) || !recordings.RecordsContainer(r, container) {
			continue
		}
		key := recordings.MergeKey(r, pod.Name, container)
		idx := slices.IndexFunc(r.Status.Containers, func(c v1alpha1.RecordedContainer) bool { return c.Name == key })
		if idx < 0 {
			continue
		}
		rc := &r.Status.Containers[idx]
		runtimeOnly := runtimeOnlyNames(rc)
		id := "recording/" + recordings.Key(r) + "/" + key
		p, ok := s.built[id]
		if !ok {
			p = recordedProfile(rc)
			s.built[id] = p
		}
		if p != nil {
			src := fmt.Sprintf("ProfileRecording %s, %s (%d replicas, %d syscalls", recordings.Key(r), key, rc.Replicas, len(rc.Syscalls))
			if len(runtimeOnly) > 0 {
				src += fmt.Sprintf("; %d only the runtime's set-up made, left out", len(runtimeOnly))
			}
			out = append(out, Evidence{Kind: EvidenceRecording, Recording: recordings.Key(r), id: id, uses: p, RuntimeOnly: runtimeOnly, Source: src + ")"})
		}
		if sp := s.Profiles[rc.Profile]; rc.Profile != "" && sp != nil {
			// The soak ran the workload under the learned profile: what
			// it would have denied, the workload did.
			leave := slices.DeleteFunc(slices.Clone(runtimeOnly), func(n string) bool { return slices.Contains(rc.WouldDeny, n) })
			pid := "profile/" + sp.Name + "/" + sp.ResourceVersion + "/" + strings.Join(leave, ",")
			lp, ok := s.built[pid]
			if !ok {
				lp = withoutNames(sp.Spec.ToProfile(), leave)
				s.built[pid] = lp
			}
			src := "SeccompProfile " + sp.Name + " (learned by ProfileRecording " + recordings.Key(r)
			if len(leave) > 0 {
				src += fmt.Sprintf("; %d only the runtime's set-up made, left out", len(leave))
			}
			out = append(out, Evidence{Kind: EvidenceProfile, Recording: recordings.Key(r), Profile: sp.Name, id: pid, uses: lp,
				RuntimeOnly: nilIfEmpty(leave), Source: src + ")"})
		}
	}
	return out
}

// runtimeOnlyNames are the names of a recording's entry that only the
// runtime's set-up made (RecordedSyscall.RuntimeOnly), sorted as the
// status is; nil when none.
func runtimeOnlyNames(rc *v1alpha1.RecordedContainer) []string {
	var out []string
	for _, sc := range rc.Syscalls {
		if sc.RuntimeOnly {
			out = append(out, sc.Name)
		}
	}
	return out
}

// recordedProfile is the allow-list of a recording's entry: its syscalls on
// each ABI it recorded (a name the ABI's table lacks is left out there),
// nil when it recorded nothing usable. The status does not say which ABI
// made which syscall, so every name counts on every recorded ABI: a
// superset, which can only add refusals, never hide one. Names only the
// runtime's set-up made are left out (Evidence.RuntimeOnly).
func recordedProfile(rc *v1alpha1.RecordedContainer) *profile.Profile {
	var set recording.Set
	native := ""
	for _, abi := range rc.Architectures {
		a, ok := syscalls.Get(abi)
		if !ok {
			continue
		}
		if native == "" {
			native = a.Native
		}
		for _, sc := range rc.Syscalls {
			if sc.RuntimeOnly {
				continue
			}
			if _, ok := a.Lookup(sc.Name); ok {
				set.Add(a.Name, sc.Name)
			}
		}
	}
	if len(set.Names()) == 0 {
		return nil
	}
	return recording.Profile(&set, recording.ProfileOptions{Native: native})
}

// withoutNames is p with names taken out of its allow rules (a rule left
// with no name goes): what the container was seen to use, without what
// only the runtime's set-up made.
func withoutNames(p *profile.Profile, names []string) *profile.Profile {
	if len(names) == 0 {
		return p
	}
	out := *p
	out.Syscalls = nil
	for _, sc := range p.Syscalls {
		if sc.Action == profile.ActAllow {
			sc.Names = slices.DeleteFunc(slices.Clone(sc.Names), func(n string) bool { return slices.Contains(names, n) })
			if slices.Contains(names, sc.Name) {
				sc.Name = ""
			}
			if len(sc.Names) == 0 && sc.Name == "" {
				continue
			}
		}
		out.Syscalls = append(out.Syscalls, sc)
	}
	return &out
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
