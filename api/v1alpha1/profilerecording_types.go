package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RecordingMode is the lifecycle step a ProfileRecording is asked to be in.
// +kubebuilder:validation:Enum=Disabled;Recording;Applying
type RecordingMode string

const (
	// RecordingModeDisabled: nothing is recorded and nothing is applied.
	// What was recorded so far is kept.
	RecordingModeDisabled RecordingMode = "Disabled"
	// RecordingModeRecording: the selected pods are recorded.
	RecordingModeRecording RecordingMode = "Recording"
	// RecordingModeApplying: recording stops; the merged result becomes
	// SeccompProfiles, verified in Complain mode for spec.soak, then bound
	// to the selected pods.
	RecordingModeApplying RecordingMode = "Applying"
)

// RecorderKind says how syscalls are recorded on the nodes.
// +kubebuilder:validation:Enum=ebpf;log
type RecorderKind string

const (
	// RecorderEBPF records with an eBPF program on the raw_syscalls
	// sys_enter tracepoint that sets bits in a per-container bitmap in
	// the kernel: nothing per syscall reaches user space, nothing can be
	// dropped. Existing pods are recorded from the moment the recording
	// attaches, new pods from their first syscall.
	RecorderEBPF RecorderKind = "ebpf"
	// RecorderLog records through the violations stream: the selected
	// pods are bound to a profile that allows nothing and only logs
	// (SCMP_ACT_LOG), so every syscall they make is an audit record. For
	// nodes without eBPF; only pods created while recording are recorded.
	RecorderLog RecorderKind = "log"
)

// MergeStrategy says how recordings of several pods become profiles.
// +kubebuilder:validation:Enum=containers;none
type MergeStrategy string

const (
	// MergeContainers: one profile per container name, merged across
	// replicas and nodes.
	MergeContainers MergeStrategy = "containers"
	// MergeNone: one profile per pod and container.
	MergeNone MergeStrategy = "none"
)

// ProfileRecordingSpec says which pods to record, how, and what to do with
// the result.
type ProfileRecordingSpec struct {
	// Mode is the lifecycle step: Disabled, Recording (default) or
	// Applying. Going back from Applying to Recording keeps the profiles
	// and bindings already applied and records again.
	// +kubebuilder:default=Recording
	// +optional
	Mode RecordingMode `json:"mode,omitempty"`

	// PodSelector selects the pods of the recording's namespace to record.
	PodSelector metav1.LabelSelector `json:"podSelector"`

	// Containers are the names of the containers to record; empty records
	// every container (init containers included).
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +listType=set
	// +optional
	Containers []string `json:"containers,omitempty"`

	// Recorder is ebpf (default) or log.
	// +kubebuilder:default=ebpf
	// +optional
	Recorder RecorderKind `json:"recorder,omitempty"`

	// MergeStrategy is containers (default) or none.
	// +kubebuilder:default=containers
	// +optional
	MergeStrategy MergeStrategy `json:"mergeStrategy,omitempty"`

	// Soak is how long the learned profiles run in Complain mode on the
	// selected pods before they are enforced; any syscall they would deny
	// meanwhile is added to the recording and reported. Default 5m; 0
	// enforces at once.
	// +kubebuilder:default="5m"
	// +optional
	Soak *metav1.Duration `json:"soak,omitempty"`

	// Restart restarts the workloads (Deployments, StatefulSets,
	// DaemonSets) that own the selected pods when a profile is bound, so
	// that the running pods get it; without it only pods created later do.
	// +optional
	Restart bool `json:"restart,omitempty"`
}

// RecordingPhase is where a ProfileRecording is.
type RecordingPhase string

const (
	RecordingPhaseDisabled  RecordingPhase = "Disabled"
	RecordingPhaseRecording RecordingPhase = "Recording"
	// RecordingPhaseVerifying: the profiles are in place in Complain mode
	// and bound; the soak runs.
	RecordingPhaseVerifying RecordingPhase = "Verifying"
	// RecordingPhaseEnforcing: the profiles are enforced and bound.
	RecordingPhaseEnforcing RecordingPhase = "Enforcing"
	// RecordingPhaseFailed: the recording cannot go on (the condition
	// says why).
	RecordingPhaseFailed RecordingPhase = "Failed"
)

// Conditions of a ProfileRecording.
const (
	// ConditionRecording: the selected pods are being recorded.
	ConditionRecording = "Recording"
	// ConditionProfilesCreated: the learned SeccompProfiles exist.
	ConditionProfilesCreated = "ProfilesCreated"
	// ConditionVerified: the soak ended with no would-be denial left
	// unrecorded.
	ConditionVerified = "Verified"
	// ConditionBound: the ProfileBindings bind the profiles to the pods.
	ConditionBound = "Bound"
	// ConditionDenials: the enforced profiles denied syscalls after they
	// were applied (status true: see status.containers[].denied).
	ConditionDenials = "Denials"
)

// AnnotationRecordingCoverage is the annotation of a learned SeccompProfile
// holding its recording's coverage: "<replicas recorded>" then, per syscall
// seen by fewer than all replicas, "name=n" (comma-separated).
const AnnotationRecordingCoverage = "seccomp-operator.dev/recording-coverage"

// LabelRecording labels the objects a ProfileRecording creates with its name.
const LabelRecording = "seccomp-operator.dev/recording"

// RecordedSyscall is one syscall a recording saw, with how many replicas
// (pods) made it.
type RecordedSyscall struct {
	// +kubebuilder:validation:MaxLength=64
	Name string `json:"name"`
	// Replicas is the number of recorded pods that made the syscall.
	Replicas int32 `json:"replicas"`
	// RuntimeOnly is true when, in every replica that made it, only the
	// container runtime's init made it, before it exec'd the container's
	// process and without a seccomp filter (runc's set-up in an unconfined
	// container: mount, pivot_root, ...). The learned profile allows it
	// all the same; a filter the runtime loads after its set-up, such as
	// RuntimeDefault, never meets it.
	// +optional
	RuntimeOnly bool `json:"runtimeOnly,omitempty"`
}

// RecordedContainer is the merged recording of one container name (or, with
// mergeStrategy none, of one pod's container).
type RecordedContainer struct {
	// Name is the container name, or "<pod>/<container>" with
	// mergeStrategy none.
	// +kubebuilder:validation:MaxLength=317
	Name string `json:"name"`
	// Replicas is the number of pods recorded.
	Replicas int32 `json:"replicas"`
	// Architectures are the ABIs the recorded processes ran with
	// (x86_64, x32, i386, aarch64, arm, ...).
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Architectures []string `json:"architectures,omitempty"`
	// Syscalls are the syscalls seen, sorted by name.
	// +kubebuilder:validation:MaxItems=1024
	// +listType=atomic
	// +optional
	Syscalls []RecordedSyscall `json:"syscalls,omitempty"`
	// Profile is the SeccompProfile learned for this container, once
	// applying.
	// +optional
	Profile string `json:"profile,omitempty"`
	// WouldDeny are the syscalls the learned profile would have denied
	// during the soak (added to the profile before it is enforced).
	// +kubebuilder:validation:MaxItems=1024
	// +listType=atomic
	// +optional
	WouldDeny []string `json:"wouldDeny,omitempty"`
	// Denied are the syscalls the enforced profile denied.
	// +kubebuilder:validation:MaxItems=1024
	// +listType=atomic
	// +optional
	Denied []string `json:"denied,omitempty"`
}

// ProfileRecordingStatus reports what is recorded and where the lifecycle is.
type ProfileRecordingStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// +optional
	Phase RecordingPhase `json:"phase,omitempty"`
	// Nodes are the nodes that recorded selected pods.
	// +kubebuilder:validation:MaxItems=5000
	// +listType=atomic
	// +optional
	Nodes []string `json:"nodes,omitempty"`
	// Pods is the number of pods recorded so far.
	// +optional
	Pods int32 `json:"pods,omitempty"`
	// Containers are the merged recordings, sorted by name.
	// +kubebuilder:validation:MaxItems=256
	// +listType=atomic
	// +optional
	Containers []RecordedContainer `json:"containers,omitempty"`
	// SoakStartTime is when the learned profiles were bound in Complain
	// mode.
	// +optional
	SoakStartTime *metav1.Time `json:"soakStartTime,omitempty"`
	// Dropped counts per-pod recordings nodes could not keep (a node keeps
	// at most MaxNodeRecordings).
	// +optional
	Dropped int64 `json:"dropped,omitempty"`
	// Conditions: Recording, ProfilesCreated, Verified, Bound, Denials.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ProfileRecording records the syscalls of the selected pods and turns them
// into SeccompProfiles: Disabled → Recording → Applying (profiles created,
// verified in Complain mode for a soak, then enforced and bound).
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=prec
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Recorder",type=string,JSONPath=`.spec.recorder`
// +kubebuilder:printcolumn:name="Pods",type=integer,JSONPath=`.status.pods`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ProfileRecording struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProfileRecordingSpec   `json:"spec"`
	Status ProfileRecordingStatus `json:"status,omitempty"`
}

// ProfileRecordingList is a list of ProfileRecording.
// +kubebuilder:object:root=true
type ProfileRecordingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProfileRecording `json:"items"`
}

// EffectiveMode is the spec's mode with its default.
func (r *ProfileRecording) EffectiveMode() RecordingMode {
	if r.Spec.Mode == "" {
		return RecordingModeRecording
	}
	return r.Spec.Mode
}

// EffectiveRecorder is the spec's recorder with its default.
func (r *ProfileRecording) EffectiveRecorder() RecorderKind {
	if r.Spec.Recorder == "" {
		return RecorderEBPF
	}
	return r.Spec.Recorder
}

// EffectiveMergeStrategy is the spec's merge strategy with its default.
func (r *ProfileRecording) EffectiveMergeStrategy() MergeStrategy {
	if r.Spec.MergeStrategy == "" {
		return MergeContainers
	}
	return r.Spec.MergeStrategy
}
