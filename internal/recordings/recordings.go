// Package recordings holds the rules of a ProfileRecording that the manager
// (which merges and applies) and the agent's recorder (which records) must
// agree on: which pods and containers it selects, the names of the profiles
// it creates, and the key a pod's container is merged under.
package recordings

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Key is the recording as node states name it: "<namespace>/<name>".
func Key(r *v1alpha1.ProfileRecording) string { return r.Namespace + "/" + r.Name }

// Selects reports whether r records pod: same namespace, labels matching
// the pod selector. An invalid selector selects nothing (the manager
// reports it on the recording).
func Selects(r *v1alpha1.ProfileRecording, pod *corev1.Pod) bool {
	if pod.Namespace != r.Namespace {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(&r.Spec.PodSelector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(pod.Labels))
}

// RecordsContainer reports whether r records the container of that name.
func RecordsContainer(r *v1alpha1.ProfileRecording, container string) bool {
	if len(r.Spec.Containers) == 0 {
		return true
	}
	for _, c := range r.Spec.Containers {
		if c == container {
			return true
		}
	}
	return false
}

// MergeKey is the name a pod's container is merged under: the container
// name, or "<pod>/<container>" with mergeStrategy none.
func MergeKey(r *v1alpha1.ProfileRecording, pod, container string) string {
	if r.EffectiveMergeStrategy() == v1alpha1.MergeNone {
		return pod + "/" + container
	}
	return container
}

// ProfileName is the SeccompProfile learned for a merge key (MergeKey):
// "<namespace>-<recording>-<key>" made a valid name, shortened to fit, and
// followed by a hash of the parts, so that two recordings or keys never
// share a name however their parts read once joined.
func ProfileName(r *v1alpha1.ProfileRecording, mergeKey string) string {
	return name("learned", r.Namespace, r.Name, mergeKey)
}

// LogProfileName is the log-everything profile a recording with the log
// recorder binds to its pods.
func LogProfileName(r *v1alpha1.ProfileRecording) string {
	return name("log", r.Namespace, r.Name, "log")
}

// BindingName is the ProfileBinding (in the recording's namespace) that
// binds the profile of a merge key, or the log profile for key "".
func BindingName(r *v1alpha1.ProfileRecording, mergeKey string) string {
	if mergeKey == "" {
		return name("log", r.Name, "log")
	}
	return name("learned", r.Name, mergeKey)
}

// maxReadable leaves room for "-" and the hash in 253 (a DNS subdomain) and
// in 63 when a name is also used as a label value.
const maxReadable = 63 - 1 - 10

func name(kind string, parts ...string) string {
	h := sha256.New()
	h.Write([]byte(kind))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	var b strings.Builder
	for _, p := range parts {
		for _, c := range strings.ToLower(p) {
			switch {
			case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
				b.WriteRune(c)
			default:
				b.WriteByte('-')
			}
		}
		b.WriteByte('-')
	}
	readable := strings.Trim(b.String(), "-")
	for strings.Contains(readable, "--") {
		readable = strings.ReplaceAll(readable, "--", "-")
	}
	if len(readable) > maxReadable {
		readable = strings.TrimRight(readable[:maxReadable], "-")
	}
	sum := hex.EncodeToString(h.Sum(nil))[:10]
	if readable == "" {
		return sum
	}
	return readable + "-" + sum
}

// UsesKernel reports whether r wants the eBPF recorder attached and its
// pods recorded: with recorder ebpf, in mode Recording, and in mode
// Applying until the profiles are enforced. Recording on through the soak
// is what catches what a recorded pod does only when it stops (nginx's
// master reaps its workers, wait4, and times their shutdown, setitimer):
// the Complain step's restart stops the recorded pods while their syscalls
// still go into the learned profiles, before they are enforced.
func UsesKernel(r *v1alpha1.ProfileRecording) bool {
	if r.EffectiveRecorder() != v1alpha1.RecorderEBPF {
		return false
	}
	switch r.EffectiveMode() {
	case v1alpha1.RecordingModeRecording:
		return true
	case v1alpha1.RecordingModeApplying:
		return r.Status.Phase != v1alpha1.RecordingPhaseEnforcing && r.Status.Phase != v1alpha1.RecordingPhaseFailed
	}
	return false
}
