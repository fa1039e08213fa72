package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Cluster is what a pass of the NodeReconciler reads from and writes to the
// cluster. The lists are the watch caches' own objects: callers only read
// them.
type Cluster interface {
	// Start begins watching and returns once the first lists have
	// arrived (or ctx ends); changed is called after every relevant
	// change from then on, until ctx ends.
	Start(ctx context.Context, changed func()) error
	// Profiles lists every SeccompProfile, trimmed to what rendering reads:
	// a new slice, which the caller may reorder, of shared objects, which
	// it must not modify.
	Profiles() []*v1alpha1.SeccompProfile
	// Pods lists the pods bound to the node, trimmed to their seccomp fields.
	Pods() []*corev1.Pod
	// NodeState is the node's SeccompNodeStatus as last seen, nil if none.
	NodeState() *v1alpha1.SeccompNodeStatus
	// CreateNodeState creates obj and returns the stored resource version.
	CreateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error)
	// UpdateNodeState replaces the node's state with obj if its resource
	// version is still obj's (else a conflict error) and returns the
	// stored resource version.
	UpdateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error)
	// PatchNodeState applies a JSON merge patch to the node's state and
	// returns the stored resource version.
	PatchNodeState(ctx context.Context, mergePatch []byte) (string, error)
	// Node reads the Node object (uncached: one read when the state is
	// created, so the agent needs no watch on nodes).
	Node(ctx context.Context) (*corev1.Node, error)
}

// scheme holds only the types the agent reads. The agent deliberately uses
// client-go's REST client and informers rather than controller-runtime:
// controller-runtime's client registers every built-in API group at start,
// about 10 MiB of resident memory on every node for types the agent never
// sees (measured in docs/benchmarks.md §4).
var scheme = runtime.NewScheme()

func init() {
	utilruntime.Must(corev1.AddToScheme(scheme))
	utilruntime.Must(v1alpha1.AddToScheme(scheme))
}

// KubeCluster is Cluster through client-go: three informers scoped to the
// node (every profile, the node's pods, the node's own state) and REST
// clients for the writes.
type KubeCluster struct {
	nodeName                  string
	seccomp, core             *rest.RESTClient
	profiles, pods, nodeState toolscache.SharedIndexInformer
}

var _ Cluster = (*KubeCluster)(nil)

// NewKubeCluster prepares the watches of nodeName's agent; nothing is
// requested before Start.
func NewKubeCluster(cfg *rest.Config, nodeName string) (*KubeCluster, error) {
	codecs := serializer.NewCodecFactory(scheme)
	seccomp, err := restClient(cfg, v1alpha1.GroupVersion, "/apis", codecs, "")
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", v1alpha1.GroupVersion, err)
	}
	// Pods travel as protobuf, which built-in types support and which
	// decodes several times faster than JSON. (Custom resources are JSON
	// only.)
	core, err := restClient(cfg, corev1.SchemeGroupVersion, "/api", codecs, runtime.ContentTypeProtobuf)
	if err != nil {
		return nil, fmt.Errorf("client for core/v1: %w", err)
	}
	byName := fields.OneTermEqualSelector("metadata.name", nodeName)
	c := &KubeCluster{
		nodeName:  nodeName,
		seccomp:   seccomp,
		core:      core,
		pods:      informer(listWatch(core, "pods", fields.OneTermEqualSelector("spec.nodeName", nodeName)), &corev1.Pod{}, trimPod),
		nodeState: informer(listWatch(seccomp, "seccompnodestatuses", byName), &v1alpha1.SeccompNodeStatus{}, trimNodeState),
	}
	c.profiles = informer(profileListWatch(seccomp, c.knownSpec), &v1alpha1.SeccompProfile{}, trimProfile)
	return c, nil
}

// knownSpec is the profile informer's knownSpec: its cache is filled by
// the same goroutine that decodes the watch, so it holds every earlier
// event.
func (c *KubeCluster) knownSpec(name string, uid types.UID, generation int64) (v1alpha1.SeccompProfileSpec, bool) {
	o, ok, err := c.profiles.GetStore().GetByKey(name)
	if err != nil || !ok {
		return v1alpha1.SeccompProfileSpec{}, false
	}
	sp, ok := o.(*v1alpha1.SeccompProfile)
	if !ok || sp.UID != uid || sp.Generation != generation || generation == 0 {
		return v1alpha1.SeccompProfileSpec{}, false
	}
	return sp.Spec, true
}

func restClient(cfg *rest.Config, gv schema.GroupVersion, apiPath string, codecs serializer.CodecFactory, contentType string) (*rest.RESTClient, error) {
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

func listWatch(c *rest.RESTClient, resource string, sel fields.Selector) *toolscache.ListWatch {
	return resumeWatches(toolscache.NewListWatchFromClient(c, resource, metav1.NamespaceAll, sel))
}

func informer(lw toolscache.ListerWatcher, example runtime.Object, trim toolscache.TransformFunc) toolscache.SharedIndexInformer {
	inf := toolscache.NewSharedIndexInformer(lw, example, 0, toolscache.Indexers{})
	// SetTransform fails only once the informer runs.
	utilruntime.Must(inf.SetTransform(trim))
	return inf
}

// Start runs the three informers until ctx ends and waits for their first
// lists. Profile updates that change neither spec (generation) nor labels
// (the manager's status writes as nodes report) are not changes for a node.
func (c *KubeCluster) Start(ctx context.Context, changed func()) error {
	all := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	}
	profileChanges := toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		UpdateFunc: func(oldObj, newObj any) {
			if profileChanged(oldObj, newObj) {
				changed()
			}
		},
		DeleteFunc: func(any) { changed() },
	}
	for _, h := range []struct {
		inf toolscache.SharedIndexInformer
		h   toolscache.ResourceEventHandler
	}{{c.profiles, profileChanges}, {c.pods, all}, {c.nodeState, all}} {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
		go h.inf.RunWithContext(ctx)
	}
	if !toolscache.WaitForCacheSync(ctx.Done(), c.Synced) {
		return fmt.Errorf("watch profiles, pods and node state of %s: %w", c.nodeName, context.Cause(ctx))
	}
	return nil
}

// Synced reports whether the first lists have arrived (readiness).
func (c *KubeCluster) Synced() bool {
	return c.profiles.HasSynced() && c.pods.HasSynced() && c.nodeState.HasSynced()
}

// profileChanged tells whether a profile update matters to a node: its spec
// (generation) or labels changed. The manager's status writes, about one per
// profile during a rollout, do not.
func profileChanged(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*v1alpha1.SeccompProfile)
	n, ok2 := newObj.(*v1alpha1.SeccompProfile)
	return !ok1 || !ok2 || o.Generation != n.Generation || !maps.Equal(o.Labels, n.Labels)
}

func (c *KubeCluster) Profiles() []*v1alpha1.SeccompProfile {
	return listOf[*v1alpha1.SeccompProfile](c.profiles)
}

func (c *KubeCluster) Pods() []*corev1.Pod { return listOf[*corev1.Pod](c.pods) }

func listOf[T any](inf toolscache.SharedIndexInformer) []T {
	items := inf.GetStore().List()
	out := make([]T, 0, len(items))
	for _, o := range items {
		if t, ok := o.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

func (c *KubeCluster) NodeState() *v1alpha1.SeccompNodeStatus {
	o, ok, err := c.nodeState.GetStore().GetByKey(c.nodeName)
	if err != nil || !ok {
		return nil
	}
	st, _ := o.(*v1alpha1.SeccompNodeStatus)
	return st
}

// metadataOnly asks the apiserver to answer a write with the object's
// metadata only: a node state with 1000 profiles is ~150 KB, which the
// apiserver would otherwise encode, and the agent decode, on every write,
// for the one field the agent reads back (the resource version).
const metadataOnly = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

func (c *KubeCluster) CreateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	return resourceVersion(c.seccomp.Post().SetHeader("Accept", metadataOnly).Resource("seccompnodestatuses").Body(obj).Do(ctx))
}

func (c *KubeCluster) UpdateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	return resourceVersion(c.seccomp.Put().SetHeader("Accept", metadataOnly).Resource("seccompnodestatuses").Name(obj.Name).Body(obj).Do(ctx))
}

func (c *KubeCluster) PatchNodeState(ctx context.Context, mergePatch []byte) (string, error) {
	return resourceVersion(c.seccomp.Patch(types.MergePatchType).SetHeader("Accept", metadataOnly).Resource("seccompnodestatuses").Name(c.nodeName).Body(mergePatch).Do(ctx))
}

// resourceVersion reads the resource version from a metadataOnly answer.
func resourceVersion(res rest.Result) (string, error) {
	raw, err := res.Raw()
	if err != nil {
		return "", err
	}
	var m metav1.PartialObjectMetadata
	if err := json.Unmarshal(raw, &m); err != nil {
		return "", fmt.Errorf("decode the apiserver's answer: %w", err)
	}
	if m.ResourceVersion == "" {
		return "", fmt.Errorf("the apiserver's answer has no resource version: %.200s", raw)
	}
	return m.ResourceVersion, nil
}

func (c *KubeCluster) Node(ctx context.Context) (*corev1.Node, error) {
	out := &corev1.Node{}
	err := c.core.Get().Resource("nodes").Name(c.nodeName).Do(ctx).Into(out)
	return out, err
}

var (
	_ toolscache.TransformFunc = trimPod
	_ toolscache.TransformFunc = trimProfile
	_ toolscache.TransformFunc = trimNodeState
)

// trimProfile keeps what the agent renders from: name, version, labels
// and spec. The status (conditions, failed nodes), annotations (kubectl's
// last-applied copy doubles an object) and managed fields are never read on
// a node.
func trimProfile(obj any) (any, error) {
	return trimAs(obj, func(sp *v1alpha1.SeccompProfile) any {
		out := &v1alpha1.SeccompProfile{TypeMeta: sp.TypeMeta, Spec: sp.Spec}
		out.Name, out.UID, out.ResourceVersion, out.Generation, out.Labels = sp.Name, sp.UID, sp.ResourceVersion, sp.Generation, sp.Labels
		return out
	})
}

// trimAs applies trim to obj when it is a T, passes a deletion tombstone
// through unchanged, and refuses anything else.
func trimAs[T any](obj any, trim func(T) any) (any, error) {
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

// trimNodeState drops the managed fields (rewritten by the apiserver on
// every write, never read here).
func trimNodeState(obj any) (any, error) {
	if st, ok := obj.(*v1alpha1.SeccompNodeStatus); ok {
		st.ManagedFields = nil
	}
	return obj, nil
}

// trimPod keeps what podprofile reads: annotations, node name, phase and the
// security contexts (pod and every container).
func trimPod(obj any) (any, error) {
	return trimAs(obj, func(pod *corev1.Pod) any {
		out := &corev1.Pod{TypeMeta: pod.TypeMeta}
		out.Name, out.Namespace, out.UID, out.ResourceVersion = pod.Name, pod.Namespace, pod.UID, pod.ResourceVersion
		out.Annotations = pod.Annotations
		out.Spec.NodeName = pod.Spec.NodeName
		out.Spec.SecurityContext = pod.Spec.SecurityContext
		out.Status.Phase = pod.Status.Phase
		trim := func(cs []corev1.Container) []corev1.Container {
			if len(cs) == 0 {
				return nil
			}
			t := make([]corev1.Container, len(cs))
			for i, c := range cs {
				t[i] = corev1.Container{Name: c.Name, SecurityContext: c.SecurityContext}
			}
			return t
		}
		out.Spec.InitContainers = trim(pod.Spec.InitContainers)
		out.Spec.Containers = trim(pod.Spec.Containers)
		for _, e := range pod.Spec.EphemeralContainers {
			var t corev1.EphemeralContainer
			t.Name, t.SecurityContext = e.Name, e.SecurityContext
			out.Spec.EphemeralContainers = append(out.Spec.EphemeralContainers, t)
		}
		return out
	})
}
