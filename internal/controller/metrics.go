package controller

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// The metrics endpoint asks the apiserver who a scraper is and whether it
// may read the metrics (setup.MetricsOptions).
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create

var reconcileSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "seccomp_operator_profile_reconcile_seconds",
	Help:    "Time to flatten, validate and compile a SeccompProfile and write its status.",
	Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
})

func init() {
	metrics.Registry.MustRegister(reconcileSeconds)
}

// Profile states counted by seccomp_operator_profiles.
const (
	StateInvalid   = "Invalid"   // Ready=False: not installable
	StateDisabled  = "Disabled"  // spec.disabled
	StatePending   = "Pending"   // ready, not yet on every node
	StateFailed    = "Failed"    // ready, but at least one node failed to install it
	StateInstalled = "Installed" // ready and installed on every node
)

var profileStates = []string{StateInvalid, StateDisabled, StatePending, StateFailed, StateInstalled}

// ProfileState classifies a profile from its status conditions.
func ProfileState(sp *v1alpha1.SeccompProfile) string {
	if sp.Spec.Disabled {
		return StateDisabled
	}
	if !meta.IsStatusConditionTrue(sp.Status.Conditions, v1alpha1.ConditionReady) {
		return StateInvalid
	}
	switch {
	case len(sp.Status.FailedNodes) > 0:
		return StateFailed
	case meta.IsStatusConditionTrue(sp.Status.Conditions, v1alpha1.ConditionInstalled):
		return StateInstalled
	}
	return StatePending
}

// profileCounter is a collector that counts profiles by state from the
// manager's cache when scraped, so the numbers are never stale and cost
// nothing between scrapes.
type profileCounter struct {
	reader client.Reader
	desc   *prometheus.Desc
}

func newProfileCounter(r client.Reader) *profileCounter {
	return &profileCounter{reader: r, desc: prometheus.NewDesc("seccomp_operator_profiles",
		"SeccompProfiles by state (Invalid, Disabled, Pending, Failed, Installed).", []string{"state"}, nil)}
}

func (c *profileCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *profileCounter) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list v1alpha1.SeccompProfileList
	if err := c.reader.List(ctx, &list, client.UnsafeDisableDeepCopy); err != nil {
		ch <- prometheus.NewInvalidMetric(c.desc, err)
		return
	}
	counts := map[string]int{}
	for i := range list.Items {
		counts[ProfileState(&list.Items[i])]++
	}
	for _, s := range profileStates {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}
