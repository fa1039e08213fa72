package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PolicyMode is what a SeccompPolicy does with a pod whose effective profile
// it does not allow.
// +kubebuilder:validation:Enum=enforce;warn;audit
type PolicyMode string

const (
	// PolicyModeEnforce rejects the pod.
	PolicyModeEnforce PolicyMode = "enforce"
	// PolicyModeWarn admits the pod and returns a warning to the client.
	PolicyModeWarn PolicyMode = "warn"
	// PolicyModeAudit admits the pod and records the verdict as an audit
	// annotation.
	PolicyModeAudit PolicyMode = "audit"
)

// SeccompPolicySpec is a cluster-wide seccomp policy for the pods of the
// namespaces it selects.
//
// Precedence: of the policies whose namespaceSelector selects a pod's
// namespace, only the one with the highest priority applies (ties go to
// the name that sorts first); the others do not apply to that namespace at
// all. A namespace is thus governed by exactly one policy, or none.
// +kubebuilder:validation:XValidation:rule="has(self.defaultProfile) || size(self.allowedProfiles) > 0",message="a policy needs a defaultProfile, allowedProfiles or both"
type SeccompPolicySpec struct {
	// NamespaceSelector selects the namespaces the policy governs; empty
	// selects every namespace (but the exempt ones).
	// +optional
	NamespaceSelector metav1.LabelSelector `json:"namespaceSelector,omitempty"`

	// Priority orders policies that select the same namespace: the highest
	// applies. Default 0.
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Priority int32 `json:"priority,omitempty"`

	// DefaultProfile is written into securityContext.seccompProfile of
	// every pod that sets no profile at pod level (field or legacy
	// annotation), so its containers without their own get it; ephemeral
	// containers added later without one get it on the container. Unlike the
	// kubelet's SeccompDefault it sets the API field, so Pod Security
	// Admission's restricted level admits the pod.
	// +optional
	DefaultProfile *PolicyProfile `json:"defaultProfile,omitempty"`

	// AllowedProfiles are the effective profiles a container may run with:
	// "RuntimeDefault", "Unconfined", the name of a SeccompProfile (its
	// operator/<name>.json file), "localhost/<path>" for any other file
	// under the kubelet's seccomp root, each may end in "*" to match a
	// prefix ("team-a-*", "localhost/operator/*"). Empty allows anything.
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	AllowedProfiles []AllowedProfile `json:"allowedProfiles,omitempty"`

	// Mode is what happens to a container whose effective profile is not
	// allowed: enforce (reject the pod), warn (admit, warn the client),
	// audit (admit, record an audit annotation).
	// +kubebuilder:default=enforce
	// +optional
	Mode PolicyMode `json:"mode,omitempty"`

	// Exemptions are never judged nor defaulted by this policy.
	// +optional
	Exemptions PolicyExemptions `json:"exemptions,omitempty"`
}

// Every field that names a SeccompProfile (allowedProfiles, and the
// profileName of a defaultProfile and of a ProfileBinding) checks it with
// the apiserver's own rule for object names, called by name in CEL
// (format.dns1123Subdomain(), and format.dns1123SubdomainPrefix() for the
// start of a name before '*'): apimachinery's NameIsDNSSubdomain, which
// internal/nodepath.ValidateName calls too. A marker cannot refer to a Go
// constant, so a pattern written here would be a second copy of the rule
// (the one that was here admitted "a..b"); naming the rule keeps one
// written form, and the schema admits exactly the names the operator can
// map to a file.

// AllowedProfile is an allowed effective profile or prefix pattern.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self in ['*', 'RuntimeDefault', 'Unconfined'] || (self.startsWith('localhost/') ? self.matches('^localhost/[A-Za-z0-9._/-]*[*]?$') : self.endsWith('*') ? !format.dns1123SubdomainPrefix().validate(self.substring(0, size(self) - 1)).hasValue() : !format.dns1123Subdomain().validate(self).hasValue())",message="must be RuntimeDefault, Unconfined, *, localhost/<path> (may end in *), a SeccompProfile name (a DNS-1123 subdomain: lower-case letters, digits, '-' and '.', each '.'-separated part starting and ending with a letter or digit) or the start of one followed by *"
type AllowedProfile string

// PolicyProfile names a profile to default to.
// +kubebuilder:validation:XValidation:rule="self.type == 'Localhost' ? has(self.localhostProfile) != has(self.profileName) : !has(self.localhostProfile) && !has(self.profileName)",message="Localhost needs exactly one of localhostProfile and profileName; RuntimeDefault and Unconfined take neither"
type PolicyProfile struct {
	// Type is RuntimeDefault, Localhost or Unconfined.
	// +kubebuilder:validation:Enum=RuntimeDefault;Localhost;Unconfined
	Type string `json:"type"`

	// ProfileName is a SeccompProfile's name: the pod gets its
	// operator/<name>.json file.
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="must be the name of a SeccompProfile: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each '.'-separated part starting and ending with a letter or digit)"
	// +optional
	ProfileName string `json:"profileName,omitempty"`

	// LocalhostProfile is a path under the kubelet's seccomp root.
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9._-][A-Za-z0-9._/-]*$`
	// +optional
	LocalhostProfile string `json:"localhostProfile,omitempty"`
}

// PolicyExemptions are requests a policy never touches. The operator's own
// namespace and kube-system are always exempt.
type PolicyExemptions struct {
	// Namespaces by name.
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:XValidation:rule="self.all(n, !format.dns1123Label().validate(n).hasValue())",message="each must be a namespace name (a DNS-1123 label: lower-case letters, digits and '-', starting and ending with a letter or digit)"
	// +listType=set
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`
	// Usernames of the requesting users (e.g.
	// system:serviceaccount:ci:deployer).
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	Usernames []string `json:"usernames,omitempty"`
	// RuntimeClasses by name (e.g. a gVisor class that filters syscalls
	// itself).
	// +kubebuilder:validation:MaxItems=64
	// +listType=set
	// +optional
	RuntimeClasses []string `json:"runtimeClasses,omitempty"`
}

// SeccompPolicyStatus reports whether the policy is in force.
type SeccompPolicyStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready (the admission policies that carry it are in
	// place).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// AdmissionPolicies names the in-apiserver policies that carry it.
	// +listType=atomic
	// +optional
	AdmissionPolicies []string `json:"admissionPolicies,omitempty"`
}

// SeccompPolicy sets the default seccomp profile of the pods in the
// namespaces it selects and which profiles their containers may use. The
// manager compiles it into a MutatingAdmissionPolicy (the default) and a
// ValidatingAdmissionPolicy (the allowed profiles), which the apiserver
// evaluates itself: no webhook in the pod path.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=scp
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Default",type=string,JSONPath=`.spec.defaultProfile.type`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type SeccompPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   SeccompPolicySpec   `json:"spec"`
	Status SeccompPolicyStatus `json:"status,omitempty"`
}

// SeccompPolicyList is a list of SeccompPolicy.
// +kubebuilder:object:root=true
type SeccompPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeccompPolicy `json:"items"`
}
