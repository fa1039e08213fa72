package agent

import (
	"context"
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
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

// KubeCluster is Cluster through client-go: the node's shared informers
// (nodekube.Node: the node's pods, its own state), an informer of every
// profile, and REST clients for the writes.
type KubeCluster struct {
	node     *nodekube.Node
	profiles toolscache.SharedIndexInformer
}

var _ Cluster = (*KubeCluster)(nil)

// NewKubeCluster prepares the installer's watches on node; nothing is
// requested before Start.
func NewKubeCluster(node *nodekube.Node) *KubeCluster {
	c := &KubeCluster{node: node}
	c.profiles = nodekube.Informer(profileListWatch(node.Seccomp, c.knownSpec), &v1alpha1.SeccompProfile{}, trimProfile)
	return c
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

// Start runs the profile informer and the node's until ctx ends and waits
// for their first lists. Profile updates that change neither spec (generation) nor labels
// (the manager's status writes as nodes report) are not changes for a node.
func (c *KubeCluster) Start(ctx context.Context, changed func()) error {
	all := toolscache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { changed() },
		UpdateFunc: func(any, any) { changed() },
		DeleteFunc: func(any) { changed() },
	}
	stateChanges := toolscache.ResourceEventHandlerFuncs{
		AddFunc: func(any) { changed() },
		UpdateFunc: func(oldObj, newObj any) {
			if installerStateChanged(oldObj, newObj) {
				changed()
			}
		},
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
	}{{c.profiles, profileChanges}, {c.node.Pods, all}, {c.node.State, stateChanges}} {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return fmt.Errorf("watch: %w", err)
		}
	}
	go c.profiles.RunWithContext(ctx)
	c.node.Start(ctx)
	if !toolscache.WaitForCacheSync(ctx.Done(), c.Synced) {
		return fmt.Errorf("watch profiles, pods and node state of %s: %w", c.node.Name, context.Cause(ctx))
	}
	return nil
}

// Synced reports whether the first lists have arrived (readiness).
func (c *KubeCluster) Synced() bool {
	return c.profiles.HasSynced() && c.node.Synced()
}

// installerStateChanged tells whether an update of the node state matters
// to the installer: anything but the enricher's containers and records
// (merge patches of its own, each of which would otherwise cost a files
// pass).
func installerStateChanged(oldObj, newObj any) bool {
	o, ok1 := oldObj.(*v1alpha1.SeccompNodeStatus)
	n, ok2 := newObj.(*v1alpha1.SeccompNodeStatus)
	if !ok1 || !ok2 {
		return true
	}
	was := o.Status.WithObserved(v1alpha1.NodeState{})
	is := n.Status.WithObserved(v1alpha1.NodeState{})
	return !equality.Semantic.DeepEqual(was, is) || !equality.Semantic.DeepEqual(o.ObjectMeta.Labels, n.ObjectMeta.Labels) ||
		!equality.Semantic.DeepEqual(o.ObjectMeta.Annotations, n.ObjectMeta.Annotations) || o.DeletionTimestamp != n.DeletionTimestamp
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
	return nodekube.ListOf[*v1alpha1.SeccompProfile](c.profiles)
}

func (c *KubeCluster) Pods() []*corev1.Pod { return c.node.PodList() }

func (c *KubeCluster) NodeState() *v1alpha1.SeccompNodeStatus { return c.node.NodeState() }

func (c *KubeCluster) CreateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	return nodekube.ResourceVersion(c.node.Seccomp.Post().SetHeader("Accept", nodekube.MetadataOnly).Resource("seccompnodestatuses").Body(obj).Do(ctx))
}

func (c *KubeCluster) UpdateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	return nodekube.ResourceVersion(c.node.Seccomp.Put().SetHeader("Accept", nodekube.MetadataOnly).Resource("seccompnodestatuses").Name(obj.Name).Body(obj).Do(ctx))
}

func (c *KubeCluster) PatchNodeState(ctx context.Context, mergePatch []byte) (string, error) {
	return c.node.PatchNodeState(ctx, mergePatch)
}

func (c *KubeCluster) Node(ctx context.Context) (*corev1.Node, error) {
	out := &corev1.Node{}
	err := c.node.Core.Get().Resource("nodes").Name(c.node.Name).Do(ctx).Into(out)
	return out, err
}

var _ toolscache.TransformFunc = trimProfile

// trimProfile keeps what the agent renders from: name, version, labels
// and spec. The status (conditions, failed nodes), annotations (kubectl's
// last-applied copy doubles an object) and managed fields are never read on
// a node.
func trimProfile(obj any) (any, error) {
	return nodekube.TrimAs(obj, func(sp *v1alpha1.SeccompProfile) any {
		out := &v1alpha1.SeccompProfile{TypeMeta: sp.TypeMeta, Spec: sp.Spec}
		out.Name, out.UID, out.ResourceVersion, out.Generation, out.Labels = sp.Name, sp.UID, sp.ResourceVersion, sp.Generation, sp.Labels
		return out
	})
}
