package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// A predefined profile that loses its label keeps its operator/ file; its
// alias file stays while a pod uses it; the node state still has exactly one
// entry for the profile. (The cluster paths are in test/integration.)
func TestNodeStateHasOneEntryPerProfile(t *testing.T) {
	ctx := context.Background()
	sp, p := webappProfile(t, "webapp", map[string]string{v1alpha1.LabelPredefined: "true"})
	alias := nodepath.PredefinedAliasPath(p.File)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{NodeName: "n1", Containers: []corev1.Container{{Name: "c", SecurityContext: &corev1.SecurityContext{
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(alias)}}}}},
	}
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}, pods: []*corev1.Pod{pod}}
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	pass := func() v1alpha1.SeccompNodeStatus {
		t.Helper()
		r.lastWrite = r.lastWrite.AddDate(-1, 0, 0) // no rate limit in this test
		if _, err := r.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		if c.state == nil {
			t.Fatal("no node state written")
		}
		return *c.state
	}
	ns := pass()
	if len(ns.Status.Profiles) != 1 || ns.Status.Profiles[0].State != v1alpha1.InstallStateInstalled {
		t.Fatalf("state %+v", ns.Status.Profiles)
	}
	for _, rel := range []string{profilePath("webapp"), alias} {
		if _, err := os.Stat(nodepath.Abs(r.Installer.Root, rel)); err != nil {
			t.Fatalf("%s not installed: %v", rel, err)
		}
	}

	cur := sp.DeepCopy()
	delete(cur.Labels, v1alpha1.LabelPredefined)
	cur.ResourceVersion = "2"
	c.profiles = []*v1alpha1.SeccompProfile{cur}
	ns = pass()
	if len(ns.Status.Profiles) != 1 || ns.Status.Profiles[0].Name != "webapp" || ns.Status.Profiles[0].State != v1alpha1.InstallStateInstalled {
		t.Fatalf("want one Installed entry for webapp, got %+v", ns.Status.Profiles)
	}
	if _, err := os.Stat(nodepath.Abs(r.Installer.Root, alias)); err != nil {
		t.Fatalf("alias removed under a running pod: %v", err)
	}

	// The pod ends: the alias goes.
	c.pods = nil
	pass()
	if _, err := os.Stat(nodepath.Abs(r.Installer.Root, alias)); !os.IsNotExist(err) {
		t.Fatalf("alias still there after the pod ended: %v", err)
	}
}

// memCluster is an in-memory Cluster for unit tests: the lists are what the
// test sets, writes land in state. cached, when set, is what NodeState
// returns instead of state (a watch cache that lags behind).
type memCluster struct {
	profiles []*v1alpha1.SeccompProfile
	pods     []*corev1.Pod
	state    *v1alpha1.SeccompNodeStatus
	cached   *v1alpha1.SeccompNodeStatus
	rv       int
	writes   map[string]int // by verb: create, update, conflict, patch
}

func (m *memCluster) Start(context.Context, func()) error  { return nil }
func (m *memCluster) Profiles() []*v1alpha1.SeccompProfile { return slices.Clone(m.profiles) }
func (m *memCluster) Pods() []*corev1.Pod                  { return m.pods }
func (m *memCluster) NodeState() *v1alpha1.SeccompNodeStatus {
	if m.cached != nil {
		return m.cached
	}
	return m.state
}
func (m *memCluster) Node(context.Context) (*corev1.Node, error) {
	return nil, apierrors.NewNotFound(corev1.Resource("nodes"), "n1")
}

func (m *memCluster) count(verb string) {
	if m.writes == nil {
		m.writes = map[string]int{}
	}
	m.writes[verb]++
}

func (m *memCluster) stored() string {
	m.rv++
	m.state.ResourceVersion = strconv.Itoa(m.rv)
	return m.state.ResourceVersion
}

func (m *memCluster) CreateNodeState(_ context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	if m.state != nil {
		return "", apierrors.NewAlreadyExists(v1alpha1.GroupVersion.WithResource("seccompnodestatuses").GroupResource(), obj.Name)
	}
	m.count("create")
	m.state = obj.DeepCopy()
	return m.stored(), nil
}

func (m *memCluster) UpdateNodeState(_ context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	if obj.ResourceVersion != m.state.ResourceVersion {
		m.count("conflict")
		return "", apierrors.NewConflict(v1alpha1.GroupVersion.WithResource("seccompnodestatuses").GroupResource(), obj.Name, fmt.Errorf("stale"))
	}
	m.count("update")
	m.state = obj.DeepCopy()
	return m.stored(), nil
}

func (m *memCluster) PatchNodeState(_ context.Context, mergePatch []byte) (string, error) {
	var patch struct {
		Status v1alpha1.NodeState `json:"status"`
	}
	if err := json.Unmarshal(mergePatch, &patch); err != nil {
		return "", err
	}
	m.count("patch")
	m.state.Status.Profiles = patch.Status.Profiles
	if patch.Status.Runtime != nil {
		m.state.Status.Runtime = patch.Status.Runtime
	}
	return m.stored(), nil
}

// testNode is node n1 of c with a fresh root, and a pass that ignores the
// spacing of node-state writes.
func testNode(t *testing.T, c *memCluster) (*NodeReconciler, func()) {
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	return r, func() {
		t.Helper()
		r.lastWrite = r.lastWrite.AddDate(-1, 0, 0)
		if _, err := r.Reconcile(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
}

// The node state is written with updates at the version the agent knows;
// when someone else wrote in between, the update conflicts and a merge
// patch writes the list without losing their change.
func TestNodeStateUpdatesAndFallsBackToPatch(t *testing.T) {
	sp, _ := webappProfile(t, "app", nil)
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}}
	_, pass := testNode(t, c)
	pass() // creates
	other := sp.DeepCopy()
	other.Name, other.UID = "other", "uid-other"
	c.profiles = append(c.profiles, other)
	pass() // updates at the version it created
	if c.writes["create"] != 1 || c.writes["update"] != 1 || c.writes["patch"] != 0 {
		t.Fatalf("writes = %v, want one create, then one update", c.writes)
	}

	// Someone labels the state; the agent's cache has not seen it yet.
	c.cached = c.state.DeepCopy()
	c.state.Labels = map[string]string{"team": "infra"}
	c.stored()
	c.profiles = c.profiles[:1]
	pass()
	if c.writes["conflict"] != 1 || c.writes["patch"] != 1 {
		t.Fatalf("writes = %v, want a conflict, then a patch", c.writes)
	}
	if c.state.Labels["team"] != "infra" || len(c.state.Status.Profiles) != 1 || c.state.Status.Profiles[0].Name != "app" {
		t.Fatalf("state after the patch: labels %v, profiles %+v", c.state.Labels, c.state.Status.Profiles)
	}

	// Caught up: updates again.
	c.cached = nil
	c.profiles = append(c.profiles, other)
	pass()
	if c.writes["update"] != 2 || c.writes["conflict"] != 1 {
		t.Fatalf("writes = %v, want a second update once the cache caught up", c.writes)
	}

	// The cache lags two and three writes behind the agent's own: still
	// updates, no conflict.
	c.cached = c.state.DeepCopy()
	for k, name := range []string{"third", "fourth", "fifth"} {
		p := sp.DeepCopy()
		p.Name, p.UID = name, types.UID("uid-"+name)
		c.profiles = append(c.profiles, p)
		pass()
		if c.writes["update"] != 3+k || c.writes["conflict"] != 1 {
			t.Fatalf("writes = %v after %s, want only updates while the cache lags our own writes", c.writes, name)
		}
	}
}

// After a pass the node keeps only the digest of each profile; a file deleted
// by hand is then written again from a fresh rendering, byte for byte what
// the node state's hash says.
func TestNodeRewritesAFileWhoseContentItNoLongerHolds(t *testing.T) {
	sp, _ := webappProfile(t, "app", nil)
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}}
	r, pass := testNode(t, c)
	file := nodepath.Abs(r.Installer.Root, profilePath("app"))
	pass()
	first, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if e := r.prepared["app"]; e.content != nil || e.hash == "" {
		t.Fatalf("after the pass the node should keep the digest only: %+v", e)
	}
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	pass()
	again, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("not restored: %v", err)
	}
	if !bytes.Equal(first, again) {
		t.Fatal("restored content differs from the first install")
	}
	if got, want := render.Hash(again), c.state.Status.Profiles[0].ContentHash; got != want {
		t.Fatalf("file hash %s, node state says %s", got, want)
	}
}

// webappProfile is a SeccompProfile named name with the predefined webapp
// profile's spec, at resource version 1.
func webappProfile(t *testing.T, name string, labels map[string]string) (*v1alpha1.SeccompProfile, predefined.Predefined) {
	t.Helper()
	p, ok := predefined.Get("webapp")
	if !ok {
		t.Fatal("no webapp profile")
	}
	return &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, ResourceVersion: "1"},
		Spec:       v1alpha1.SpecFromProfile(p.Profile),
	}, p
}

// The render memo follows spec versions: the manager's status writes (a new
// resource version, same generation) re-render nothing; a new generation of
// the profile or of its base, or a profile recreated under the same name, do.
func TestChainKeyFollowsSpecVersions(t *testing.T) {
	base := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "base", UID: "u-base", Generation: 1, ResourceVersion: "10"}}
	child := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "child", UID: "u-child", Generation: 1, ResourceVersion: "11"},
		Spec: v1alpha1.SeccompProfileSpec{BaseProfileName: "base"}}
	key := func() string {
		return chainKey(child, map[string]*v1alpha1.SeccompProfile{"base": base, "child": child})
	}
	k0 := key()

	child.ResourceVersion, base.ResourceVersion = "12", "13" // status writes
	if k := key(); k != k0 {
		t.Fatalf("status-only change altered the key: %q -> %q", k0, k)
	}
	base.Generation = 2
	k1 := key()
	if k1 == k0 {
		t.Fatal("a new generation of the base kept the key")
	}
	child.Generation = 2
	k2 := key()
	if k2 == k1 {
		t.Fatal("a new generation of the profile kept the key")
	}
	child.UID = "u-child-2" // deleted and created again: generation starts over
	child.Generation = 2
	if k := key(); k == k2 {
		t.Fatal("a recreated profile kept the key")
	}
	if k := chainKey(child, map[string]*v1alpha1.SeccompProfile{"child": child}); k == key() {
		t.Fatal("a missing base kept the key")
	}
}

// Through full passes: the manager's status write (new resource version,
// same generation) renders nothing; a spec change renders the profile again.
func TestNodeRendersOncePerSpecVersion(t *testing.T) {
	ctx := context.Background()
	sp, _ := webappProfile(t, "app", nil)
	sp.UID, sp.Generation = "u1", 1
	c := &memCluster{profiles: []*v1alpha1.SeccompProfile{sp}}
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		prepared: map[string]preparedEntry{}}
	rendersIn := func() float64 {
		t.Helper()
		before := testutil.ToFloat64(renders)
		r.lastWrite = r.lastWrite.AddDate(-1, 0, 0)
		if _, err := r.Reconcile(ctx); err != nil {
			t.Fatal(err)
		}
		return testutil.ToFloat64(renders) - before
	}
	if n := rendersIn(); n != 1 {
		t.Fatalf("first pass rendered %v profiles, want 1", n)
	}
	status := sp.DeepCopy()
	status.ResourceVersion = "2"
	status.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue}}
	c.profiles = []*v1alpha1.SeccompProfile{status}
	if n := rendersIn(); n != 0 {
		t.Fatalf("a status-only update rendered %v profiles, want 0", n)
	}
	spec := status.DeepCopy()
	spec.ResourceVersion, spec.Generation = "3", 2
	spec.Spec.Syscalls = spec.Spec.Syscalls[:len(spec.Spec.Syscalls)-1]
	c.profiles = []*v1alpha1.SeccompProfile{spec}
	if n := rendersIn(); n != 1 {
		t.Fatalf("a spec change rendered %v profiles, want 1", n)
	}
}

// A node state's writes are spaced by one interval per 100 entries: a node
// with 1000 profiles writes at most every 10 s during a burst, a small one
// every second.
func TestStatusIntervalGrowsWithTheState(t *testing.T) {
	r := &NodeReconciler{MinStatusInterval: time.Second}
	for _, c := range []struct {
		entries int
		want    time.Duration
	}{{0, time.Second}, {1, time.Second}, {100, time.Second}, {101, 2 * time.Second}, {1000, 10 * time.Second}} {
		if got := r.statusInterval(c.entries); got != c.want {
			t.Errorf("statusInterval(%d) = %v, want %v", c.entries, got, c.want)
		}
	}

	// Through passes: a node of 300 profiles writes its state; then one
	// profile goes 1.5 s after that write: the write waits (3 s apart
	// for 300 entries), and goes out once 3 s have passed.
	ctx := context.Background()
	c := &memCluster{}
	for i := range 300 {
		sp, _ := webappProfile(t, fmt.Sprintf("p%03d", i), nil)
		c.profiles = append(c.profiles, sp)
	}
	r = &NodeReconciler{Cluster: c, Installer: &Installer{Root: t.TempDir()}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		MinStatusInterval: time.Second, prepared: map[string]preparedEntry{}}
	if _, err := r.Reconcile(ctx); err != nil || c.state == nil || len(c.state.Status.Profiles) != 300 {
		t.Fatalf("first pass: err %v, state %v", err, c.state != nil)
	}
	c.profiles = c.profiles[:299]
	r.lastWrite = time.Now().Add(-1500 * time.Millisecond)
	wait, err := r.Reconcile(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(c.state.Status.Profiles); n != 300 || wait <= 0 || wait > 1500*time.Millisecond {
		t.Fatalf("1.5 s after the last write: %d entries stored, wait %v; want the 300 still stored and a wait of at most 1.5 s", n, wait)
	}
	r.lastWrite = time.Now().Add(-3 * time.Second)
	if wait, err = r.Reconcile(ctx); err != nil || wait != 0 || len(c.state.Status.Profiles) != 299 {
		t.Fatalf("3 s after the last write: wait %v, err %v, %d entries stored", wait, err, len(c.state.Status.Profiles))
	}
}

// blockingCluster is a memCluster, safe for Run's two workers, whose
// node-state writes wait until release is closed.
type blockingCluster struct {
	mu      sync.Mutex
	mem     memCluster
	changed func()
	release chan struct{}
	writing chan struct{} // closed when the first write starts waiting
	once    sync.Once
}

func (b *blockingCluster) Start(_ context.Context, changed func()) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.changed = changed
	return nil
}

func (b *blockingCluster) Profiles() []*v1alpha1.SeccompProfile {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.mem.profiles)
}

func (b *blockingCluster) Pods() []*corev1.Pod { return nil }

func (b *blockingCluster) NodeState() *v1alpha1.SeccompNodeStatus {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mem.state.DeepCopy()
}

func (b *blockingCluster) Node(ctx context.Context) (*corev1.Node, error) { return b.mem.Node(ctx) }

func (b *blockingCluster) wait() {
	b.once.Do(func() { close(b.writing) })
	<-b.release
}

func (b *blockingCluster) CreateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	b.wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mem.CreateNodeState(ctx, obj)
}

func (b *blockingCluster) UpdateNodeState(ctx context.Context, obj *v1alpha1.SeccompNodeStatus) (string, error) {
	b.wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mem.UpdateNodeState(ctx, obj)
}

func (b *blockingCluster) PatchNodeState(ctx context.Context, patch []byte) (string, error) {
	b.wait()
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.mem.PatchNodeState(ctx, patch)
}

// A node-state write that waits on a busy apiserver does not hold up
// files: a profile created meanwhile is installed at once, and the state
// written when the apiserver answers is the latest.
func TestSlowStateWriteDoesNotDelayFiles(t *testing.T) {
	a, _ := webappProfile(t, "a", nil)
	b, _ := webappProfile(t, "b", nil)
	c := &blockingCluster{mem: memCluster{profiles: []*v1alpha1.SeccompProfile{a}}, release: make(chan struct{}), writing: make(chan struct{})}
	root := t.TempDir()
	r := &NodeReconciler{Cluster: c, Installer: &Installer{Root: root}, NodeName: "n1", Family: "x86_64", Log: logr.Discard(),
		MinStatusInterval: time.Millisecond, BatchDelay: time.Millisecond, PassInterval: time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx, time.Hour) }()
	var released sync.Once
	release := func() { released.Do(func() { close(c.release) }) }
	defer func() {
		release() // a write that still waits would keep Run from returning
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	installed := func(name string) bool {
		_, err := os.Stat(nodepath.Abs(root, profilePath(name)))
		return err == nil
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	<-c.writing
	waitFor("a installed", func() bool { return installed("a") })

	// The first write still waits; b arrives.
	c.mu.Lock()
	c.mem.profiles = append(c.mem.profiles, b)
	changed := c.changed
	c.mu.Unlock()
	changed()
	waitFor("b installed while the state write waits", func() bool { return installed("b") })
	if st := c.NodeState(); st != nil {
		t.Fatalf("state written before the apiserver answered: %+v", st)
	}

	release()
	waitFor("a state with a and b", func() bool {
		st := c.NodeState()
		return st != nil && len(st.Status.Profiles) == 2
	})
}

// Events wait BatchDelay; passes they ask for are spaced by passSpacing
// times the last pass's duration, at most PassInterval.
func TestEventDelaySpacesSlowPasses(t *testing.T) {
	r := &NodeReconciler{BatchDelay: 250 * time.Millisecond, PassInterval: time.Second}
	now := time.Now()
	if d := r.eventDelay(now); d != 250*time.Millisecond {
		t.Errorf("before any pass: %v, want the batch delay", d)
	}
	for _, tc := range []struct {
		name          string
		ago, duration time.Duration
		want          time.Duration
	}{
		{"quick pass (an idle node)", 20 * time.Millisecond, 10 * time.Millisecond, 250 * time.Millisecond},
		{"slow pass (a starved node)", 100 * time.Millisecond, 200 * time.Millisecond, 700 * time.Millisecond},
		{"very slow pass: capped", 100 * time.Millisecond, 2 * time.Second, 900 * time.Millisecond},
		{"long ago", 5 * time.Second, 2 * time.Second, 250 * time.Millisecond},
	} {
		r.lastPass.Store(now.Add(-tc.ago).UnixNano())
		r.lastPassDur.Store(int64(tc.duration))
		if d := r.eventDelay(now); d != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, d, tc.want)
		}
	}
}
