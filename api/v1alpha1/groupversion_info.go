// Package v1alpha1 holds the seccomp-operator.dev/v1alpha1 API: the
// SeccompProfile custom resource (a cluster-wide, named seccomp profile) and
// SeccompNodeStatus (what one node's agent has installed), plus conversion
// between a profile spec and the cluster-free profile model of
// pkg/seccomp/profile.
//
// +kubebuilder:object:generate=true
// +groupName=seccomp-operator.dev
package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var (
	// GroupVersion is the group and version of every type in this package.
	GroupVersion = schema.GroupVersion{Group: "seccomp-operator.dev", Version: "v1alpha1"}

	// SchemeBuilder registers this package's types. It is apimachinery's
	// builder rather than controller-runtime's so that the API package (used
	// by the cluster-free CLI too) does not pull in controller-runtime.
	SchemeBuilder = runtime.NewSchemeBuilder(addKnownTypes)

	// AddToScheme adds this package's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)

func addKnownTypes(s *runtime.Scheme) error {
	s.AddKnownTypes(GroupVersion,
		&SeccompProfile{}, &SeccompProfileList{},
		&SeccompNodeStatus{}, &SeccompNodeStatusList{},
		&SeccompPolicy{}, &SeccompPolicyList{},
		&SeccompProfileIndex{}, &SeccompProfileIndexList{},
		&ProfileBinding{}, &ProfileBindingList{},
		&ProfileRecording{}, &ProfileRecordingList{},
	)
	metav1.AddToGroupVersion(s, GroupVersion)
	return nil
}
