package nodekube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Scheme holds only the types the node agent reads. The agent deliberately
// uses client-go's REST client and informers rather than
// controller-runtime: controller-runtime's client registers every built-in
// API group at start, about 10 MiB of resident memory on every node for
// types the agent never sees (measured in docs/benchmarks.md §4).
var Scheme = runtime.NewScheme()

var codecs = serializer.NewCodecFactory(Scheme)

func init() {
	utilruntime.Must(corev1.AddToScheme(Scheme))
	utilruntime.Must(v1alpha1.AddToScheme(Scheme))
}

// RESTClient is a REST client for one group version of Scheme's types.
// contentType, if set, is what requests and answers travel as (protobuf for
// built-in types), JSON otherwise.
func RESTClient(cfg *rest.Config, gv schema.GroupVersion, apiPath string, contentType string) (*rest.RESTClient, error) {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &gv
	c.APIPath = apiPath
	c.NegotiatedSerializer = codecs.WithoutConversion()
	// No gzip: kube-apiserver compresses a watch stream per watcher and
	// per flush, so with compression every profile event would be deflated
	// once for each node (and inflated on each). Events are a few KB and
	// an agent's traffic is small; the apiserver's CPU, shared by all
	// nodes, is what a rollout is short of (docs/benchmarks.md section 4).
	c.DisableCompression = true
	if contentType != "" {
		c.ContentType = contentType
		c.AcceptContentTypes = contentType + "," + runtime.ContentTypeJSON
	}
	if c.UserAgent == "" {
		c.UserAgent = rest.DefaultKubernetesUserAgent()
	}
	return rest.RESTClientFor(c)
}

// ListWatch lists and watches resource (every namespace) with sel, its
// watches resumed (ResumeWatches).
func ListWatch(c *rest.RESTClient, resource string, sel fields.Selector) *toolscache.ListWatch {
	return ResumeWatches(toolscache.NewListWatchFromClient(c, resource, metav1.NamespaceAll, sel))
}

// Informer is a shared informer without periodic resync whose cache holds
// what trim keeps of each object.
func Informer(lw toolscache.ListerWatcher, example runtime.Object, trim toolscache.TransformFunc) toolscache.SharedIndexInformer {
	inf := toolscache.NewSharedIndexInformer(lw, example, 0, toolscache.Indexers{})
	// SetTransform fails only once the informer runs.
	utilruntime.Must(inf.SetTransform(trim))
	return inf
}

// ListOf lists an informer's cache: a new slice of the cache's own
// objects, which callers must not modify.
func ListOf[T any](inf toolscache.SharedIndexInformer) []T {
	items := inf.GetStore().List()
	out := make([]T, 0, len(items))
	for _, o := range items {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// TrimAs applies trim to obj when it is a T, passes a deletion tombstone
// through unchanged, and refuses anything else.
func TrimAs[T any](obj any, trim func(T) any) (any, error) {
	t, ok := obj.(T)
	if !ok {
		if _, tomb := obj.(toolscache.DeletedFinalStateUnknown); tomb {
			return obj, nil
		}
		var want T
		return nil, fmt.Errorf("trim: unexpected %T, want %T", obj, want)
	}
	return trim(t), nil
}
