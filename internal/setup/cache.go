package setup

import (
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	"k8s.io/apimachinery/pkg/fields"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
)

// CacheOptions are the manager's cache options. Its RBAC lets it read only
// its own MutatingWebhookConfiguration (resourceNames), and the apiserver
// authorizes a list or watch by name only when the request selects that
// name with a field selector: so the cache watches that one object, not
// every configuration of the cluster.
func CacheOptions() cache.Options {
	return cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&admissionregv1.MutatingWebhookConfiguration{}: {Field: fields.OneTermEqualSelector("metadata.name", pods.DefaultConfigName)},
		},
		// No reconciler reads managedFields, and every read from the
		// cache deep-copies them: the fallback webhook reads the policies
		// and the namespace for each pod. An update sent without them
		// leaves the server's as they are.
		DefaultTransform: cache.TransformStripManagedFields(),
	}
}
