package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ProfileIndexName is the name of the one SeccompProfileIndex the manager
// keeps.
const ProfileIndexName = "cluster"

// ProfileIndexInstalled is the index value of a profile installed on every
// node.
const ProfileIndexInstalled = "Installed"

// SeccompProfileIndex is written by the manager alone: one object, named
// "cluster", listing every SeccompProfile and whether it is installed on
// every node, since CEL cannot list custom resources. The manager compiles
// it into the admission policies of SeccompPolicies and ProfileBindings (as
// literals, rewritten when it changes); they read it as their params only
// before it exists or when it is too large for a CEL literal. It is its own
// kind (not a ConfigMap) because creating an admission policy with a param
// kind requires read access to every object of that kind.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,path=seccompprofileindexes,singular=seccompprofileindex
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="the one SeccompProfileIndex is named cluster"
type SeccompProfileIndex struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Installed lists the profiles installed on every node, sorted, each
	// between commas: ",a,b,c,". One string rather than a map because,
	// read as params, the object is converted for every admission request:
	// with a 1000-entry map that cost 3 ms per pod create (bench/admission).
	// +kubebuilder:validation:MaxLength=1048576
	// +optional
	Installed string `json:"installed,omitempty"`

	// NotInstalled maps each profile that exists but is not installed on
	// every node to why, in words an admission message quotes.
	// +kubebuilder:validation:MaxProperties=100000
	// +optional
	NotInstalled map[string]string `json:"notInstalled,omitempty"`
}

// SeccompProfileIndexList is a list of SeccompProfileIndex.
// +kubebuilder:object:root=true
type SeccompProfileIndexList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeccompProfileIndex `json:"items"`
}
