// Package podcreate is the pod-create measurement the admission benchmarks
// share: the same pods, created alternately in a namespace no policy
// governs and in a governed one, so that drift affects both alike.
package podcreate

import (
	"context"
	"fmt"
	"net"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// Namespaces the measurement alternates between.
const (
	Plain    = "plain"
	Governed = "governed"
)

// Alternate warms both namespaces up with 50 creates each, then creates n
// pods in each, alternately, and returns each namespace's latencies
// (the client's round trip of a persisted create). profile(i) names the
// operator profile pod i sets ("" for none).
func Alternate(ctx context.Context, k8s client.Client, n int, profile func(i int) string) (map[string][]time.Duration, error) {
	for i := 0; i < 50; i++ {
		for _, ns := range []string{Plain, Governed} {
			if err := k8s.Create(ctx, benchpolicy.Pod(ns, fmt.Sprintf("warm-%d", i), "profile-0001")); err != nil {
				return nil, fmt.Errorf("warm-up create in %s: %w", ns, err)
			}
		}
	}
	lat := map[string][]time.Duration{}
	for i := 0; i < n; i++ {
		for _, ns := range []string{Plain, Governed} {
			start := time.Now()
			if err := k8s.Create(ctx, benchpolicy.Pod(ns, fmt.Sprintf("pod-%d", i), profile(i))); err != nil {
				return nil, fmt.Errorf("create in %s: %w", ns, err)
			}
			lat[ns] = append(lat[ns], time.Since(start))
		}
	}
	return lat, nil
}

// FreePort is a TCP port free on the loopback interface now.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Prepare creates the two namespaces (labelled bench=<name>, which is what
// the benchmarks' policies select), any extra namespaces, and a
// SeccompProfileIndex listing profile-0000 … profile-<indexSize-1> as
// installed, the names Alternate's pods use; it returns the index.
func Prepare(ctx context.Context, k8s client.Client, indexSize int, extra ...string) (*v1alpha1.SeccompProfileIndex, error) {
	for _, ns := range append([]string{Plain, Governed}, extra...) {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{"bench": ns}}}); err != nil {
			return nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
	}
	idx := &v1alpha1.SeccompProfileIndex{ObjectMeta: metav1.ObjectMeta{Name: v1alpha1.ProfileIndexName}, Installed: benchpolicy.Installed(indexSize)}
	if err := k8s.Create(ctx, idx); err != nil {
		return nil, fmt.Errorf("profile index: %w", err)
	}
	return idx, nil
}
