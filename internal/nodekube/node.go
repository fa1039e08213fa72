package nodekube

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// The node's pods and its own state, watched once for every role.
// +kubebuilder:rbac:groups="",resources=pods,verbs=list;watch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompnodestatuses,verbs=get;list;watch;patch

// Node is the kube plumbing the node roles (installer, enricher) share: the
// REST clients and two informers scoped to the node, its pods and its
// SeccompNodeStatus. One agent process holds one Node, so each event
// reaches every role from one watch, and no role lists again.
type Node struct {
	Name string
	// Seccomp is the client of the operator's API group (JSON), Core of
	// core/v1 (protobuf).
	Seccomp, Core *rest.RESTClient
	// Pods holds the pods bound to the node, trimmed (TrimPod); State the
	// node's SeccompNodeStatus (TrimNodeState).
	Pods, State toolscache.SharedIndexInformer

	start sync.Once
}

// New prepares the clients and informers of nodeName; nothing is requested
// before Start.
func New(cfg *rest.Config, nodeName string) (*Node, error) {
	seccomp, err := RESTClient(cfg, v1alpha1.GroupVersion, "/apis", "")
	if err != nil {
		return nil, fmt.Errorf("client for %s: %w", v1alpha1.GroupVersion, err)
	}
	// Pods travel as protobuf, which built-in types support and which
	// decodes several times faster than JSON. (Custom resources are JSON
	// only.)
	core, err := RESTClient(cfg, corev1.SchemeGroupVersion, "/api", runtime.ContentTypeProtobuf)
	if err != nil {
		return nil, fmt.Errorf("client for core/v1: %w", err)
	}
	return &Node{
		Name:    nodeName,
		Seccomp: seccomp,
		Core:    core,
		Pods:    Informer(ListWatch(core, "pods", fields.OneTermEqualSelector("spec.nodeName", nodeName)), &corev1.Pod{}, TrimPod),
		State:   Informer(ListWatch(seccomp, "seccompnodestatuses", fields.OneTermEqualSelector("metadata.name", nodeName)), &v1alpha1.SeccompNodeStatus{}, TrimNodeState),
	}, nil
}

// Start runs the informers until ctx ends; only the first call starts
// them (every role calls it, and the first role's ctx governs). Handlers
// may be added before or after: a late one is sent the cache's objects.
func (n *Node) Start(ctx context.Context) {
	n.start.Do(func() {
		go n.Pods.RunWithContext(ctx)
		go n.State.RunWithContext(ctx)
	})
}

// Synced reports whether both informers have their first lists.
func (n *Node) Synced() bool { return n.Pods.HasSynced() && n.State.HasSynced() }

// PodList lists the node's pods (trimmed, shared: read only).
func (n *Node) PodList() []*corev1.Pod { return ListOf[*corev1.Pod](n.Pods) }

// NodeState is the node's SeccompNodeStatus as last seen (shared: read
// only), nil if none.
func (n *Node) NodeState() *v1alpha1.SeccompNodeStatus {
	o, ok, err := n.State.GetStore().GetByKey(n.Name)
	if err != nil || !ok {
		return nil
	}
	st, _ := o.(*v1alpha1.SeccompNodeStatus)
	return st
}

// PatchNodeState applies a JSON merge patch to the node's state and
// returns the stored resource version.
func (n *Node) PatchNodeState(ctx context.Context, mergePatch []byte) (string, error) {
	return ResourceVersion(n.Seccomp.Patch(types.MergePatchType).SetHeader("Accept", MetadataOnly).Resource("seccompnodestatuses").Name(n.Name).Body(mergePatch).Do(ctx))
}

// MetadataOnly asks the apiserver to answer a write with the object's
// metadata only: a node state with 1000 profiles is ~150 KB, which the
// apiserver would otherwise encode, and the agent decode, on every write,
// for the one field the agent reads back (the resource version).
const MetadataOnly = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"

// ResourceVersion reads the resource version from a MetadataOnly answer.
func ResourceVersion(res rest.Result) (string, error) {
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
