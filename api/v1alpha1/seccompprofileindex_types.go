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
// every node. The admission policies compiled from SeccompPolicies read it
// as their params, since CEL cannot list custom resources; it is its own
// kind (not a ConfigMap) because creating an admission policy with a param
// kind requires read access to every object of that kind.
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,path=seccompprofileindexes,singular=seccompprofileindex
// +kubebuilder:validation:XValidation:rule="self.metadata.name == 'cluster'",message="the one SeccompProfileIndex is named cluster"
type SeccompProfileIndex struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Profiles maps each SeccompProfile's name to "Installed" or to why it
	// is not installed on every node, in words an admission message quotes.
	// +kubebuilder:validation:MaxProperties=100000
	// +optional
	Profiles map[string]string `json:"profiles,omitempty"`
}

// SeccompProfileIndexList is a list of SeccompProfileIndex.
// +kubebuilder:object:root=true
type SeccompProfileIndexList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []SeccompProfileIndex `json:"items"`
}
