package recorder

import (
	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
)

// The recorder watches every ProfileRecording (a node's pods can belong to
// any namespace).
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilerecordings,verbs=get;list;watch

// trimRecording keeps what the recorder reads: the name, namespace, UID,
// spec and phase. The rest of the status (the manager's merged results, up
// to 256 containers of 1024 syscalls each) is what an agent on every node
// must not cache.
func trimRecording(obj any) (any, error) {
	return nodekube.TrimAs(obj, func(r *v1alpha1.ProfileRecording) any {
		out := &v1alpha1.ProfileRecording{TypeMeta: r.TypeMeta, Spec: r.Spec}
		out.Status.Phase = r.Status.Phase
		out.Name, out.Namespace, out.UID, out.ResourceVersion, out.Generation = r.Name, r.Namespace, r.UID, r.ResourceVersion, r.Generation
		return out
	})
}

// snapshot is what the recorder knows of the recordings at one moment,
// rebuilt on every change of one (they are few) and read without a lock.
type snapshot struct {
	byNS  map[string][]*v1alpha1.ProfileRecording
	byUID map[types.UID]*v1alpha1.ProfileRecording
	// logProfiles maps the log profile of each recording with recorder
	// log (not Disabled) to the recording.
	logProfiles map[string]*v1alpha1.ProfileRecording
	// applying holds the namespaces of recordings in mode Applying (whose
	// learned profiles' records are the complain and enforce sources).
	applying map[string]struct{}
	// needKernel: a recording uses the eBPF recorder (recordings.UsesKernel).
	needKernel bool
}

func newSnapshot(recs []*v1alpha1.ProfileRecording) *snapshot {
	s := &snapshot{byNS: map[string][]*v1alpha1.ProfileRecording{}, byUID: map[types.UID]*v1alpha1.ProfileRecording{},
		logProfiles: map[string]*v1alpha1.ProfileRecording{}, applying: map[string]struct{}{}}
	for _, r := range recs {
		s.byNS[r.Namespace] = append(s.byNS[r.Namespace], r)
		s.byUID[r.UID] = r
		mode := r.EffectiveMode()
		if mode == v1alpha1.RecordingModeDisabled {
			continue
		}
		switch r.EffectiveRecorder() {
		case v1alpha1.RecorderLog:
			s.logProfiles[recordings.LogProfileName(r)] = r
		case v1alpha1.RecorderEBPF:
			if recordings.UsesKernel(r) {
				s.needKernel = true
			}
		}
		if mode == v1alpha1.RecordingModeApplying {
			s.applying[r.Namespace] = struct{}{}
		}
	}
	return s
}

// exists reports whether the recording "<namespace>/<name>" with uid
// exists.
func (s *snapshot) exists(name string, uid types.UID) bool {
	r := s.byUID[uid]
	return r != nil && recordings.Key(r) == name
}

// kernelTargets are the ebpf node recordings a pod's container goes to:
// one per recording that uses the eBPF recorder (recordings.UsesKernel),
// selects the pod and records the container.
func (s *snapshot) kernelTargets(p *podContainer) []target {
	var out []target
	for _, r := range s.byNS[p.namespace] {
		if !recordings.UsesKernel(r) || !recordings.Selects(r, p.pod) || !recordings.RecordsContainer(r, p.container) {
			continue
		}
		out = append(out, target{key: key{recUID: r.UID, podUID: string(p.pod.UID), container: p.container, source: v1alpha1.RecordSourceEBPF},
			recording: recordings.Key(r), pod: p.pod.Name})
	}
	return out
}
