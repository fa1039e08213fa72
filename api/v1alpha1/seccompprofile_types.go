package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Action is a seccomp action, named as in OCI and libseccomp. SCMP_ACT_KILL
// is the legacy name of SCMP_ACT_KILL_THREAD.
// +kubebuilder:validation:Enum=SCMP_ACT_KILL;SCMP_ACT_KILL_THREAD;SCMP_ACT_KILL_PROCESS;SCMP_ACT_TRAP;SCMP_ACT_ERRNO;SCMP_ACT_TRACE;SCMP_ACT_ALLOW;SCMP_ACT_LOG;SCMP_ACT_NOTIFY
type Action string

// Operator compares one syscall argument with a value.
// +kubebuilder:validation:Enum=SCMP_CMP_NE;SCMP_CMP_LT;SCMP_CMP_LE;SCMP_CMP_EQ;SCMP_CMP_GE;SCMP_CMP_GT;SCMP_CMP_MASKED_EQ
type Operator string

// Arch is a syscall ABI, named as in OCI and libseccomp (SCMP_ARCH_*). The
// enum accepts every ABI the OCI runtime spec names, so profiles written for
// other hosts are admitted; the compiler only uses the ABIs a node can run.
// +kubebuilder:validation:Enum=SCMP_ARCH_X86;SCMP_ARCH_X86_64;SCMP_ARCH_X32;SCMP_ARCH_ARM;SCMP_ARCH_AARCH64;SCMP_ARCH_MIPS;SCMP_ARCH_MIPS64;SCMP_ARCH_MIPS64N32;SCMP_ARCH_MIPSEL;SCMP_ARCH_MIPSEL64;SCMP_ARCH_MIPSEL64N32;SCMP_ARCH_PPC;SCMP_ARCH_PPC64;SCMP_ARCH_PPC64LE;SCMP_ARCH_S390;SCMP_ARCH_S390X;SCMP_ARCH_PARISC;SCMP_ARCH_PARISC64;SCMP_ARCH_RISCV64;SCMP_ARCH_LOONGARCH64;SCMP_ARCH_M68K;SCMP_ARCH_SH;SCMP_ARCH_SHEB
type Arch string

// Flag is a seccomp(2) SECCOMP_FILTER_FLAG_* flag, named as in OCI.
// +kubebuilder:validation:Enum=SECCOMP_FILTER_FLAG_LOG;SECCOMP_FILTER_FLAG_SPEC_ALLOW;SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;SECCOMP_FILTER_FLAG_TSYNC;SECCOMP_FILTER_FLAG_NEW_LISTENER;SECCOMP_FILTER_FLAG_TSYNC_ESRCH
type Flag string

// LabelPredefined marks the SeccompProfiles the manager owns as predefined
// (value "true"). Agents install such a profile also at its predefined file
// path, when its name is one of the predefined profiles.
const LabelPredefined = "seccomp-operator.dev/predefined"

// Mode says how a profile is installed on the nodes.
// +kubebuilder:validation:Enum=Enforce;Complain
type Mode string

const (
	// ModeEnforce installs the profile as written.
	ModeEnforce Mode = "Enforce"
	// ModeComplain installs the profile with every denying verdict turned
	// into SCMP_ACT_LOG, to find out what a workload needs before enforcing.
	ModeComplain Mode = "Complain"
)

// DefaultAction is the defaultAction of a spec that sets none.
const DefaultAction Action = "SCMP_ACT_ERRNO"

// DefaultArchitectures returns the architectures of a spec that sets none:
// the amd64 and arm64 families, so that one profile works on the node
// architectures clusters actually run, including their compat ABIs (a
// 32-bit binary in an amd64 container must not escape the profile).
// It must match the +kubebuilder:default marker on Architectures.
func DefaultArchitectures() []Arch {
	return []Arch{"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"}
}

// SeccompProfileSpec is a resolved OCI seccomp profile (no Docker archMap or
// includes/excludes: those depend on the node and are resolved before a
// profile becomes an object) plus how the operator installs it.
//
// +kubebuilder:validation:XValidation:rule="!has(self.defaultErrnoRet) || !has(self.defaultAction) || self.defaultAction in ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']",message="defaultErrnoRet is only valid with defaultAction SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
type SeccompProfileSpec struct {
	// DefaultAction is the action for syscalls no rule matches.
	// +kubebuilder:default=SCMP_ACT_ERRNO
	// +optional
	DefaultAction Action `json:"defaultAction,omitempty"`

	// DefaultErrnoRet is the errno (or, for SCMP_ACT_TRACE, the tracer's
	// data) the default action returns; unset means EPERM. 0 is a valid value
	// distinct from unset (the syscall then "succeeds" with 0).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	DefaultErrnoRet *uint `json:"defaultErrnoRet,omitempty"`

	// Architectures are the ABIs the profile covers; syscalls from any other
	// ABI are killed. Unset means the amd64 and arm64 families. An explicit
	// empty list means the node's native ABI only (runc's behaviour), which
	// is why this field is serialized even when empty.
	// +kubebuilder:default={SCMP_ARCH_X86_64,SCMP_ARCH_X86,SCMP_ARCH_X32,SCMP_ARCH_AARCH64,SCMP_ARCH_ARM}
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Architectures []Arch `json:"architectures"`

	// Flags are seccomp(2) filter flags to install the filter with.
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Flags []Flag `json:"flags,omitempty"`

	// ListenerPath is the unix socket a SCMP_ACT_NOTIFY listener is sent to.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	ListenerPath string `json:"listenerPath,omitempty"`

	// ListenerMetadata is opaque data passed to the notify listener.
	// +kubebuilder:validation:MaxLength=4096
	// +optional
	ListenerMetadata string `json:"listenerMetadata,omitempty"`

	// Syscalls are the rules. See pkg/seccomp/profile for how rules naming
	// the same syscall combine.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=1024
	// +optional
	Syscalls []SyscallRule `json:"syscalls,omitempty"`

	// BaseProfileName names a profile this one inherits from and extends:
	// another SeccompProfile or a built-in base (such as a container
	// runtime's default profile). The base's rules come first.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +optional
	BaseProfileName string `json:"baseProfileName,omitempty"`

	// Mode is Enforce (install as written) or Complain (denials become
	// SCMP_ACT_LOG).
	// +kubebuilder:default=Enforce
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// Disabled keeps the object but removes the profile from the nodes (once
	// no running pod uses it).
	// +optional
	Disabled bool `json:"disabled,omitempty"`

	// LogDenials installs the profile with SECCOMP_FILTER_FLAG_LOG, so that
	// the kernel audits its ERRNO and TRAP verdicts (denials) and the agent
	// can report them; LOG and KILL verdicts are audited either way. True
	// when unset. On a node whose container runtime cannot pass seccomp
	// flags the agent installs the profile without it and reports there
	// that denials are invisible (the node state's runtime field).
	// +optional
	LogDenials *bool `json:"logDenials,omitempty"`
}

// LogsDenials reports whether the profile asks for its denials to be
// audited (LogDenials, true when unset).
func (s *SeccompProfileSpec) LogsDenials() bool { return s.LogDenials == nil || *s.LogDenials }

// SyscallRule gives the named syscalls Action when all Args match.
//
// +kubebuilder:validation:XValidation:rule="!has(self.errnoRet) || self.action in ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE']",message="errnoRet is only valid with action SCMP_ACT_ERRNO or SCMP_ACT_TRACE"
type SyscallRule struct {
	// Names are the syscalls the rule applies to (unique, at least one).
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9_]+$`
	Names []string `json:"names"`

	// Action is what the syscalls get when the rule matches.
	Action Action `json:"action"`

	// ErrnoRet is the errno for SCMP_ACT_ERRNO, or the tracer's data for
	// SCMP_ACT_TRACE; unset means EPERM. 0 is distinct from unset.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=65535
	// +optional
	ErrnoRet *uint `json:"errnoRet,omitempty"`

	// Args are argument comparisons, all of which must hold.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Args []Arg `json:"args,omitempty"`

	// Comment is free text, kept so that converted profiles round-trip.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Comment string `json:"comment,omitempty"`
}

// Arg compares syscall argument Index with Value using Op. For
// SCMP_CMP_MASKED_EQ, Value is the mask and ValueTwo what the masked argument
// must equal.
//
// +kubebuilder:validation:XValidation:rule="type(self.value) != int || self.value >= 0",message="value must not be negative"
// +kubebuilder:validation:XValidation:rule="!has(self.valueTwo) || type(self.valueTwo) != int || self.valueTwo >= 0",message="valueTwo must not be negative"
type Arg struct {
	// Index is the argument number, 0 to 5.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=5
	Index uint `json:"index"`

	// Value is compared with the argument.
	Value ArgValue `json:"value"`

	// ValueTwo is the expected value for SCMP_CMP_MASKED_EQ.
	// +optional
	ValueTwo ArgValue `json:"valueTwo,omitempty"`

	// Op is the comparison.
	Op Operator `json:"op"`
}

// Condition types of a SeccompProfile.
const (
	// ConditionReady is true when the profile is valid, flattened and
	// compiled, i.e. ready to be installed.
	ConditionReady = "Ready"
	// ConditionInstalled is true when every node that should have the profile
	// has it.
	ConditionInstalled = "Installed"
)

// SeccompProfileStatus is what the operator observed about a profile.
type SeccompProfileStatus struct {
	// ObservedGeneration is the spec generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready and Installed.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// LocalhostProfile is the path to put in a pod's
	// securityContext.seccompProfile.localhostProfile, relative to the
	// kubelet's seccomp root ("operator/<name>.json").
	// +optional
	LocalhostProfile string `json:"localhostProfile,omitempty"`

	// NodesInstalled is how many nodes have the current profile installed.
	// Written even when 0, so that "0 of 3" reads as such.
	// +optional
	NodesInstalled int32 `json:"nodesInstalled"`

	// NodesTotal is how many nodes should have it.
	// +optional
	NodesTotal int32 `json:"nodesTotal"`

	// FailedNodes are the nodes that failed to install it, and why.
	// +listType=map
	// +listMapKey=node
	// +optional
	FailedNodes []NodeFailure `json:"failedNodes,omitempty"`
}

// NodeFailure is one node's failure to install a profile.
type NodeFailure struct {
	// Node is the node's name.
	Node string `json:"node"`
	// Reason is the node's reason (NodeProfileState.Reason).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says what went wrong.
	// +optional
	Message string `json:"message,omitempty"`
}

// SeccompProfile is a seccomp profile the operator installs on every node,
// at operator/<name>.json under the kubelet's seccomp root. It is
// cluster-scoped so that a name means one file cluster-wide (namespaced
// profiles would let tenants overwrite each other's files). The name is
// limited to 250 characters because "<name>.json" must fit in one 255-byte
// file name on the node.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName=sp
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Installed",type=string,JSONPath=`.status.conditions[?(@.type=="Installed")].status`
// +kubebuilder:printcolumn:name="Nodes",type=integer,JSONPath=`.status.nodesInstalled`,description="Nodes with the profile installed"
// +kubebuilder:printcolumn:name="Total",type=integer,JSONPath=`.status.nodesTotal`,description="Nodes that should have the profile"
// +kubebuilder:printcolumn:name="Base",type=string,JSONPath=`.spec.baseProfileName`,priority=1
// +kubebuilder:printcolumn:name="Path",type=string,JSONPath=`.status.localhostProfile`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 250",message="metadata.name must be at most 250 characters: the node file is <name>.json and a file name is at most 255 bytes"
// +kubebuilder:validation:XValidation:rule="!has(self.spec.baseProfileName) || self.spec.baseProfileName != self.metadata.name",message="spec.baseProfileName must not name the profile itself"
type SeccompProfile struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +required
	Spec SeccompProfileSpec `json:"spec"`
	// +optional
	Status SeccompProfileStatus `json:"status,omitempty"`
}

// SeccompProfileList is a list of SeccompProfiles.
//
// +kubebuilder:object:root=true
type SeccompProfileList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeccompProfile `json:"items"`
}
