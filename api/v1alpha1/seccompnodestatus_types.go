package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// InstallState is the state of one profile on one node.
// +kubebuilder:validation:Enum=Installed;Pending;Failed;Removing
type InstallState string

const (
	// InstallStateInstalled: the node's file matches the profile.
	InstallStateInstalled InstallState = "Installed"
	// InstallStatePending: the agent has not written the current version yet.
	InstallStatePending InstallState = "Pending"
	// InstallStateFailed: writing the file failed; Message says why.
	InstallStateFailed InstallState = "Failed"
	// InstallStateRemoving: the profile is gone or disabled, but a running
	// pod on the node still references the file, so removal is deferred.
	InstallStateRemoving InstallState = "Removing"
)

// Reasons of a NodeProfileState.
const (
	// NodeReasonRefused: the profile cannot be compiled for the node (its
	// architecture family).
	NodeReasonRefused = "Refused"
	// NodeReasonWriteFailed: writing the file failed.
	NodeReasonWriteFailed = "WriteFailed"
	// NodeReasonForeignFile: a path the profile is installed at holds a
	// file the agent did not install (an administrator's own), which the
	// agent leaves alone.
	NodeReasonForeignFile = "ForeignFile"
	// NodeReasonSeccompFlags: the profile sets seccomp flags and the
	// node's container runtime refuses them (runc before 1.2.0), or the
	// agent cannot tell whether it does: a pod using the profile would not
	// start there (internal/runtimeflags).
	NodeReasonSeccompFlags = "SeccompFlagsNotSupported"
	// NodeReasonInUse: the profile is gone or disabled, and a pod on the
	// node still references its file.
	NodeReasonInUse = "InUse"
)

// NodeProfileState is one profile's state on one node.
type NodeProfileState struct {
	// Name is the SeccompProfile's name.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`

	// ContentHash identifies the installed file's content (e.g.
	// "sha256:<hex>"), so the manager can tell whether a node has the
	// current version of the profile.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	ContentHash string `json:"contentHash,omitempty"`

	// State is Installed, Pending, Failed or Removing.
	State InstallState `json:"state"`

	// Reason says in one word why the state is Failed or Removing (one of
	// the NodeReason constants), for tools and the profile's status;
	// Message says it in words.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Reason string `json:"reason,omitempty"`

	// Message explains a Failed or Removing state.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`

	// LastTransitionTime is when State last changed (not when it was last
	// checked: rewriting an unchanged state would churn the apiserver).
	// +optional
	LastTransitionTime metav1.Time `json:"lastTransitionTime,omitempty"`
}

// NodeState lists the profiles a node's agent manages.
type NodeState struct {
	// Profiles are the profiles on the node, one entry per name, sorted by
	// name. The list is atomic, not a map keyed by name: the agent is its
	// only writer and always writes all of it, so the apiserver's per-entry
	// bookkeeping of map lists (managed fields) on each write of a
	// 1000-entry state would buy nothing.
	// +listType=atomic
	// +optional
	Profiles []NodeProfileState `json:"profiles,omitempty"`

	// Runtime is what the agent knows of the node's container runtime and
	// what it means for the profiles (written with Profiles).
	// +optional
	Runtime *NodeRuntime `json:"runtime,omitempty"`

	// Containers is the kernel's seccomp state of every running container
	// on the node, as its processes show it in /proc, next to the profile
	// the pod declares for it; sorted by namespace, pod and container.
	// Written by the agent's enricher on change only; the installer's
	// writes keep it.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=4096
	// +optional
	Containers []ContainerSeccompState `json:"containers,omitempty"`

	// Records is the state of the enricher's source of seccomp records:
	// whether it reads them, and every record it lost. Written by the
	// enricher on change only; the installer's writes keep it.
	// +optional
	Records *NodeRecords `json:"records,omitempty"`

	// Recordings are the per-pod results of the ProfileRecordings that
	// record pods on this node, sorted by recording, pod and container;
	// the manager merges them. Written by the agent's recorder on change
	// only (the installer's writes keep it); at most MaxNodeRecordings,
	// further pods are counted in Recorder.Dropped.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	// +optional
	Recordings []NodeRecording `json:"recordings,omitempty"`

	// Recorder is the state of the node's recorder.
	// +optional
	Recorder *NodeRecorder `json:"recorder,omitempty"`
}

// MaxNodeRecordings is how many per-pod recordings a node state keeps.
const MaxNodeRecordings = 256

// RecordSource says how a node recording's syscalls were seen.
// +kubebuilder:validation:Enum=ebpf;log;complain;enforce
type RecordSource string

const (
	// RecordSourceEBPF: recorded by the eBPF recorder.
	RecordSourceEBPF RecordSource = "ebpf"
	// RecordSourceLog: recorded through the violations stream under the
	// log-everything recording profile.
	RecordSourceLog RecordSource = "log"
	// RecordSourceComplain: would-be denials of a learned profile during
	// its soak in Complain mode.
	RecordSourceComplain RecordSource = "complain"
	// RecordSourceEnforce: denials of a learned profile once enforced.
	RecordSourceEnforce RecordSource = "enforce"
)

// NodeRecording is what one container of one pod on the node made, for one
// ProfileRecording.
type NodeRecording struct {
	// Recording is the ProfileRecording, "<namespace>/<name>".
	// +kubebuilder:validation:MaxLength=317
	Recording string `json:"recording"`
	// RecordingUID tells a recording from a later one of the same name.
	// +kubebuilder:validation:MaxLength=64
	RecordingUID string `json:"recordingUID"`
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`
	// +kubebuilder:validation:MaxLength=64
	PodUID string `json:"podUID"`
	// +kubebuilder:validation:MaxLength=63
	Container string       `json:"container"`
	Source    RecordSource `json:"source"`
	// FromStart is true when the container was recorded from its first
	// syscall (it started while the recording was attached).
	// +optional
	FromStart bool `json:"fromStart,omitempty"`
	// Architectures are the ABIs seen (syscalls.Arch names: x86_64, x32,
	// i386, aarch64, arm, ...).
	// +kubebuilder:validation:MaxItems=16
	// +listType=atomic
	// +optional
	Architectures []string `json:"architectures,omitempty"`
	// Syscalls are the names seen (each named with its own ABI's table),
	// sorted.
	// +kubebuilder:validation:MaxItems=1024
	// +listType=atomic
	// +optional
	Syscalls []string `json:"syscalls,omitempty"`
	// RuntimeOnly are the names of Syscalls that only the container
	// runtime's init made, before it exec'd the container's process and
	// without a seccomp filter (runc's set-up: mount, pivot_root, ...),
	// sorted. Only an unconfined container has them: a filter the
	// runtime loads after its set-up never meets them.
	// +kubebuilder:validation:MaxItems=1024
	// +listType=atomic
	// +optional
	RuntimeOnly []string `json:"runtimeOnly,omitempty"`
}

// NodeRecorder is the state of the node's recorder.
type NodeRecorder struct {
	// Attached is true while the eBPF program is attached (only while a
	// recording selects a pod on the node).
	Attached bool `json:"attached"`
	// Lost counts containers the in-kernel map had no room for.
	// +optional
	Lost int64 `json:"lost,omitempty"`
	// Dropped counts per-pod recordings beyond MaxNodeRecordings.
	// +optional
	Dropped int64 `json:"dropped,omitempty"`
	// Message says why the node cannot record, when it cannot.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// NodeRecords is the state of a node's seccomp record source. A record
// lost is a denial nobody sees, so every loss shows here, not only in the
// agent's metrics.
type NodeRecords struct {
	// Source names where the agent reads the kernel's seccomp records
	// (e.g. "audit-netlink"), empty when it reads none.
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Source string `json:"source,omitempty"`

	// Reading is true while the source delivers records.
	Reading bool `json:"reading"`

	// Lost counts records lost since the agent started: the socket's
	// overruns and the growth of the kernel's own lost counter.
	// +optional
	Lost int64 `json:"lost,omitempty"`

	// LastLossTime is when a record was last lost.
	// +optional
	LastLossTime *metav1.Time `json:"lastLossTime,omitempty"`

	// Message says in words what is wrong and what to do.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// NodeRuntime says whether the node's container runtime passes seccomp
// flags, and so whether denials of the operator's profiles reach the
// kernel's audit stream.
type NodeRuntime struct {
	// SeccompFlags is Supported when the runtime installs filters with the
	// flags a profile carries, Unsupported when it refuses them (runc
	// before 1.2.0), Unknown when the agent cannot tell.
	// +kubebuilder:validation:Enum=Supported;Unsupported;Unknown
	SeccompFlags string `json:"seccompFlags"`

	// DenialsLogged is false when the profiles had to be installed without
	// SECCOMP_FILTER_FLAG_LOG: their ERRNO and TRAP denials on this node
	// leave no audit record, so no metric or Event can report them.
	DenialsLogged bool `json:"denialsLogged"`

	// Message says in words what the agent found and what to do.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`

	// DryRunProfile says what the node's dry-run profile
	// (operator-dryrun/runtime-default.json) was built from
	// ("containerd@v1.6.20, x86_64, kernel 6.1, no capabilities"), or why
	// the agent could not install it.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	DryRunProfile string `json:"dryRunProfile,omitempty"`
}

// SeccompMode is the kernel's seccomp mode of a process (the Seccomp field
// of /proc/<pid>/status).
// +kubebuilder:validation:Enum=Disabled;Strict;Filter;Unknown
type SeccompMode string

const (
	// SeccompModeDisabled: no seccomp at all (Seccomp: 0).
	SeccompModeDisabled SeccompMode = "Disabled"
	// SeccompModeStrict: SECCOMP_MODE_STRICT (Seccomp: 1).
	SeccompModeStrict SeccompMode = "Strict"
	// SeccompModeFilter: one or more BPF filters (Seccomp: 2).
	SeccompModeFilter SeccompMode = "Filter"
	// SeccompModeUnknown: the agent could not read the container's
	// processes, or they disagree.
	SeccompModeUnknown SeccompMode = "Unknown"
)

// ContainerSeccompState is one running container's declared profile and
// the seccomp state its processes really run with.
type ContainerSeccompState struct {
	// +kubebuilder:validation:MaxLength=63
	Namespace string `json:"namespace"`
	// +kubebuilder:validation:MaxLength=253
	Pod string `json:"pod"`
	// +kubebuilder:validation:MaxLength=63
	Container string `json:"container"`

	// ContainerID is the runtime's ID, as in the pod's containerStatuses
	// ("containerd://<id>").
	// +kubebuilder:validation:MaxLength=256
	// +optional
	ContainerID string `json:"containerID,omitempty"`

	// Declared is the effective profile the pod declares for the
	// container (internal/podprofile): RuntimeDefault, Unconfined,
	// Localhost/<path>, or NodeDefault when the pod sets none.
	// +kubebuilder:validation:MaxLength=4096
	Declared string `json:"declared"`

	// Profile is the SeccompProfile the Localhost path belongs to, if any.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	Profile string `json:"profile,omitempty"`

	// Privileged is true for a privileged container (the runtime installs
	// no filter for it, whatever it declares).
	// +optional
	Privileged bool `json:"privileged,omitempty"`

	// Mode is the real seccomp mode of the container's processes.
	Mode SeccompMode `json:"mode"`

	// Filters is the number of seccomp filters its processes run under
	// (Seccomp_filters), when Mode is Filter.
	// +optional
	Filters int32 `json:"filters,omitempty"`

	// DryRun is what the container logged while it ran the dry-run
	// profile (Declared is Localhost/operator-dryrun/runtime-default.json:
	// its node's runtime default with every refusal turned into
	// SCMP_ACT_LOG): the syscalls RuntimeDefault would have refused it.
	// Written by the agent's enricher for such containers only.
	// +optional
	DryRun *ContainerDryRun `json:"dryRun,omitempty"`
}

// MaxDryRunSyscalls bounds the names a dry run keeps per ABI.
const MaxDryRunSyscalls = 128

// ContainerDryRun is what a container logged under the dry-run profile.
type ContainerDryRun struct {
	// Since is when the agent began watching the container's records
	// under the dry run: when it first saw the container running, or when
	// the agent restarted (records made while no agent read them are
	// lost, so the watch starts again; what was logged before is kept).
	Since metav1.Time `json:"since"`
	// Logged are the syscalls logged, per ABI, sorted.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	Logged []DryRunSyscalls `json:"logged,omitempty"`
	// Dropped counts the names left out beyond MaxDryRunSyscalls per ABI.
	// +optional
	Dropped int32 `json:"dropped,omitempty"`
}

// DryRunSyscalls are the syscalls a dry run logged on one ABI.
type DryRunSyscalls struct {
	// ABI is the records' ABI as pkg/seccomp/syscalls names it (x86_64,
	// x86, x32, aarch64, ...).
	// +kubebuilder:validation:MaxLength=32
	ABI string `json:"abi"`
	// Syscalls are the names in the ABI's own table; "#<nr>" for a number
	// the table has no name for.
	// +kubebuilder:validation:MaxItems=128
	// +kubebuilder:validation:items:MaxLength=64
	// +listType=atomic
	Syscalls []string `json:"syscalls"`
}

// SeccompNodeStatus is what one node's agent reports about the profiles on
// its node; its name is the node's name. There is one object per node (not
// per profile × node) so that the number of objects, and of writes, grows
// with the nodes only. The agent is its only writer and writes it in one
// request, which is why the state is not a status subresource.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=sns
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SeccompNodeStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Status NodeState `json:"status,omitempty"`
}

// SeccompNodeStatusList is a list of SeccompNodeStatus.
//
// +kubebuilder:object:root=true
type SeccompNodeStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeccompNodeStatus `json:"items"`
}

// FindNodeProfileState returns the entry for the profile called name. Agents
// keep the list sorted by name, so this is a binary search; an unsorted list
// (written by another client) is still searched correctly, only slower.
func FindNodeProfileState(states []NodeProfileState, name string) (NodeProfileState, bool) {
	lo, hi := 0, len(states)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if states[m].Name < name {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < len(states) && states[lo].Name == name {
		return states[lo], true
	}
	for _, st := range states {
		if st.Name == name {
			return st, true
		}
	}
	return NodeProfileState{}, false
}

// WithObserved returns the installer's part of s (profiles, runtime) with
// the parts the agent's observers write by merge patch (the enricher's
// containers and records, the recorder's recordings and recorder state)
// taken from from: the one list of what the installer does not own.
func (s NodeState) WithObserved(from NodeState) NodeState {
	s.Containers, s.Records = from.Containers, from.Records
	s.Recordings, s.Recorder = from.Recordings, from.Recorder
	return s
}
