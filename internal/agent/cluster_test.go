package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// Only spec and label changes of a profile start a pass; the manager's
// status writes do not (they would make every node re-list during a rollout).
func TestProfileChangedIgnoresStatusWrites(t *testing.T) {
	base := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 1, ResourceVersion: "5", Labels: map[string]string{"a": "1"}}}
	status := base.DeepCopy()
	status.ResourceVersion = "6"
	status.Status.NodesTotal = 100
	spec := base.DeepCopy()
	spec.Generation = 2
	relabel := base.DeepCopy()
	relabel.Labels = map[string]string{"a": "2"}
	unlabel := base.DeepCopy()
	unlabel.Labels = nil
	for _, tc := range []struct {
		name     string
		old, new any
		want     bool
	}{
		{"status write", base, status, false},
		{"spec change", base, spec, true},
		{"label value", base, relabel, true},
		{"label removed", base, unlabel, true},
		{"not a profile", base, &corev1.Pod{}, true},
	} {
		if got := profileChanged(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: changed=%v, want %v", tc.name, got, tc.want)
		}
	}
}

// The informer's copies keep only what rendering reads.
func TestTrimProfileKeepsWhatRenderingReads(t *testing.T) {
	sp := &v1alpha1.SeccompProfile{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Generation: 3, ResourceVersion: "9", Labels: map[string]string{"a": "1"},
			Annotations:   map[string]string{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
			ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubectl"}}},
		Spec:   v1alpha1.SeccompProfileSpec{BaseProfileName: "base"},
		Status: v1alpha1.SeccompProfileStatus{NodesTotal: 100},
	}
	got, err := trimProfile(sp)
	if err != nil {
		t.Fatal(err)
	}
	out := got.(*v1alpha1.SeccompProfile)
	if out.Name != "p" || out.Generation != 3 || out.ResourceVersion != "9" || out.Labels["a"] != "1" || out.Spec.BaseProfileName != "base" {
		t.Fatalf("lost what rendering reads: %+v", out)
	}
	if out.Annotations != nil || out.ManagedFields != nil || out.Status.NodesTotal != 0 {
		t.Fatalf("kept what no node reads: %+v", out)
	}
}

// A deletion tombstone passes the trims unchanged; any other type is an error.
func TestTrimsPassTombstonesAndRefuseOtherTypes(t *testing.T) {
	tomb := toolscache.DeletedFinalStateUnknown{Key: "p"}
	for name, trim := range map[string]toolscache.TransformFunc{"profile": trimProfile, "pod": nodekube.TrimPod} {
		if got, err := trim(tomb); err != nil || got != any(tomb) {
			t.Errorf("%s: tombstone gave %v, %v", name, got, err)
		}
		if _, err := trim(&corev1.Node{}); err == nil {
			t.Errorf("%s: no error for a Node", name)
		}
	}
}

// The agent's requests do not ask for gzip: the apiserver would otherwise
// deflate every profile watch event once per node.
func TestClientsDoNotAskForCompression(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Accept-Encoding")
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Node","apiVersion":"v1","metadata":{"name":"n1","resourceVersion":"1"}}`))
	}))
	defer srv.Close()
	// TLS, as in a cluster: client-go uses Go's default transport, gzip
	// and all, for a plain-HTTP config without TLS settings.
	n, err := nodekube.New(&rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}, "n1")
	if err != nil {
		t.Fatal(err)
	}
	c := NewKubeCluster(n)
	if _, err := c.Node(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The answer is no node state, but the request is what matters.
	_, _ = c.UpdateNodeState(context.Background(), &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "n1"}})
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("requests: %v, want the node and the node state", seen)
	}
	for path, enc := range seen {
		if strings.Contains(enc, "gzip") {
			t.Errorf("%s: Accept-Encoding %q", path, enc)
		}
	}
}

// The decoder may reuse a cached spec only for the same object (UID) and
// spec version (generation).
func TestKnownSpecMatchesUIDAndGeneration(t *testing.T) {
	n, err := nodekube.New(&rest.Config{Host: "https://127.0.0.1:1"}, "n1")
	if err != nil {
		t.Fatal(err)
	}
	c := NewKubeCluster(n)
	sp := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: "p", UID: "u1", Generation: 2}}
	sp.Spec.DefaultAction = "SCMP_ACT_LOG"
	if err := c.profiles.GetStore().Add(sp); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		uid  types.UID
		gen  int64
		want bool
	}{
		{"p", "u1", 2, true},
		{"p", "u1", 3, false},
		{"p", "u2", 2, false},
		{"q", "u1", 2, false},
	} {
		spec, ok := c.knownSpec(tc.name, tc.uid, tc.gen)
		if ok != tc.want || ok && spec.DefaultAction != "SCMP_ACT_LOG" {
			t.Errorf("%s/%s/%d: %v %+v, want %v", tc.name, tc.uid, tc.gen, ok, spec, tc.want)
		}
	}
}

// The enricher's writes of the node state (containers, records) are not
// changes for the installer: each would cost a files pass.
func TestInstallerIgnoresTheEnrichersStateWrites(t *testing.T) {
	base := &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: "n1", ResourceVersion: "5"},
		Status: v1alpha1.NodeState{Profiles: []v1alpha1.NodeProfileState{{Name: "p", State: v1alpha1.InstallStateInstalled}}}}
	containers := base.DeepCopy()
	containers.ResourceVersion = "6"
	containers.Status.Containers = []v1alpha1.ContainerSeccompState{{Namespace: "ns", Pod: "p", Container: "c", Mode: v1alpha1.SeccompModeFilter}}
	containers.Status.Records = &v1alpha1.NodeRecords{Reading: true}
	profiles := base.DeepCopy()
	profiles.Status.Profiles[0].State = v1alpha1.InstallStateFailed
	runtime := base.DeepCopy()
	runtime.Status.Runtime = &v1alpha1.NodeRuntime{SeccompFlags: "Supported"}
	for _, tc := range []struct {
		name     string
		old, new any
		want     bool
	}{
		{"enricher's fields", base, containers, false},
		{"profiles", containers, profiles, true},
		{"runtime", base, runtime, true},
		{"not a node state", base, &corev1.Pod{}, true},
	} {
		if got := installerStateChanged(tc.old, tc.new); got != tc.want {
			t.Errorf("%s: changed=%v, want %v", tc.name, got, tc.want)
		}
	}
}
