package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProfileBindingSpec binds a SeccompProfile to the containers of the pods
// created in the binding's namespace that match every criterion given.
//
// A binding writes the profile into a container's
// securityContext.seccompProfile when the pod is created, and only into
// containers (and init containers) that set no profile of their own (field
// or legacy container annotation): an explicit choice in the pod wins, and
// is judged by the namespace's SeccompPolicy like any other.
//
// Conflicts: when several bindings of a namespace match a container, the
// one with the highest priority binds it; ties go to the name that sorts
// first. The others do not touch that container.
// +kubebuilder:validation:XValidation:rule="size(self.images) > 0 || has(self.podSelector) || size(self.containerNames) > 0",message="a binding needs at least one of images, podSelector and containerNames"
type ProfileBindingSpec struct {
	// ProfileName is the SeccompProfile to bind: containers get its
	// localhost/operator/<name>.json file.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="!format.dns1123Subdomain().validate(self).hasValue()",message="must be the name of a SeccompProfile: a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', each '.'-separated part starting and ending with a letter or digit)"
	ProfileName string `json:"profileName"`

	// Images are patterns of container images, matched against the image
	// as the pod spec writes it: "*" matches any run of characters,
	// including "/" and ":" ("docker.io/library/nginx:*", "*/nginx*",
	// "registry.example.com/team-a/*"). A container matches when any
	// pattern does. Empty matches every image.
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=512
	// +kubebuilder:validation:items:Pattern=`^[A-Za-z0-9._:/@*+-]+$`
	// +listType=set
	// +optional
	Images []string `json:"images,omitempty"`

	// PodSelector selects the pods by their labels; unset selects every
	// pod.
	// +optional
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`

	// ContainerNames are the names of the containers to bind; empty
	// matches every container.
	// +kubebuilder:validation:MaxItems=32
	// +listType=set
	// +optional
	ContainerNames []string `json:"containerNames,omitempty"`

	// Priority orders bindings that match the same container: the highest
	// binds it. Default 0.
	// +kubebuilder:validation:Minimum=-1000
	// +kubebuilder:validation:Maximum=1000
	// +optional
	Priority int32 `json:"priority,omitempty"`
}

// ProfileBindingStatus reports whether the binding is in force and whether
// its profile can be used.
type ProfileBindingStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Ready (the admission policies that carry the binding
	// are in place) and ProfileInstalled (the profile exists and is
	// installed on every node; while it is not, pods the binding would
	// bind are refused with that reason).
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// ConditionProfileInstalled is a ProfileBinding's condition: its profile
// exists and is installed on every node.
const ConditionProfileInstalled = "ProfileInstalled"

// ProfileBinding binds a SeccompProfile to containers by image, pod labels
// and container name, in its namespace. The manager compiles the bindings of
// a namespace into a MutatingAdmissionPolicy (and a ValidatingAdmissionPolicy
// that refuses pods it would bind to a profile that is missing or not yet
// installed), which the apiserver evaluates itself.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=pb
// +kubebuilder:printcolumn:name="Profile",type=string,JSONPath=`.spec.profileName`
// +kubebuilder:printcolumn:name="Priority",type=integer,JSONPath=`.spec.priority`
// +kubebuilder:printcolumn:name="Installed",type=string,JSONPath=`.status.conditions[?(@.type=="ProfileInstalled")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ProfileBinding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ProfileBindingSpec   `json:"spec"`
	Status ProfileBindingStatus `json:"status,omitempty"`
}

// ProfileBindingList is a list of ProfileBinding.
// +kubebuilder:object:root=true
type ProfileBindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ProfileBinding `json:"items"`
}
