// Package benchpolicy is the SeccompPolicy and profile index the admission
// benchmarks measure (bench/admission, bench/webhook and
// internal/policy's BenchmarkValidatingPolicy), written once so that they
// measure the same thing.
package benchpolicy

import (
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Policy governs the namespaces labelled bench=governed: RuntimeDefault
// by default, RuntimeDefault and profile-* allowed.
func Policy() *v1alpha1.SeccompPolicy {
	return &v1alpha1.SeccompPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "bench"},
		Spec: v1alpha1.SeccompPolicySpec{
			NamespaceSelector: metav1.LabelSelector{MatchLabels: map[string]string{"bench": "governed"}},
			DefaultProfile:    &v1alpha1.PolicyProfile{Type: "RuntimeDefault"},
			AllowedProfiles:   []v1alpha1.AllowedProfile{"RuntimeDefault", "profile-*"},
		},
	}
}

// Installed is the index's installed set of profile-0000 …
// profile-<n-1>, the names the benchmarks' pods use.
func Installed(n int) string {
	var b strings.Builder
	b.WriteString(",")
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "profile-%04d,", i)
	}
	return b.String()
}
