//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
	"github.com/seccomp-operator/seccomp-operator/internal/render"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
)

// recordingManager runs the recording reconciler in a manager of its own,
// with the deployed manager's RBAC, so a test can stop and start it as a
// manager restart would.
type recordingManager struct{ stop func() }

func startRecordingManager(t *testing.T) *recordingManager {
	t.Helper()
	mgr, err := ctrl.NewManager(impersonate(cfg, managerUser), ctrl.Options{
		Scheme:     k8s.Scheme(),
		Cache:      setup.CacheOptions(),
		Metrics:    metricsserver.Options{BindAddress: "0"},
		Controller: config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&controller.RecordingReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader(),
		Events: mgr.GetEventRecorder("profilerecording")}).SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := mgr.Start(ctx); err != nil {
			fmt.Fprintln(os.Stderr, "recording manager:", err)
		}
	}()
	m := &recordingManager{}
	var once bool
	m.stop = func() {
		if !once {
			once = true
			cancel()
			<-done
		}
	}
	t.Cleanup(m.stop)
	return m
}

// writeNodeRecordings writes a node state's recordings as the node's agent
// does (the API contract between agent and manager).
func writeNodeRecordings(t *testing.T, node string, rec *v1alpha1.NodeRecorder, entries ...v1alpha1.NodeRecording) {
	t.Helper()
	ctx := context.Background()
	var ns v1alpha1.SeccompNodeStatus
	err := k8s.Get(ctx, client.ObjectKey{Name: node}, &ns)
	if apierrors.IsNotFound(err) {
		ns = v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node}, Status: v1alpha1.NodeState{Recordings: entries, Recorder: rec}}
		if err := k8s.Create(ctx, &ns); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			_ = k8s.Delete(context.Background(), &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node}})
		})
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := k8s.Get(ctx, client.ObjectKey{Name: node}, &ns); err != nil {
			return err
		}
		ns.Status.Recordings, ns.Status.Recorder = entries, rec
		return k8s.Update(ctx, &ns)
	}); err != nil {
		t.Fatal(err)
	}
}

// installLearned acts as the agents of nodes until the test ends: it
// reports every profile of the recordings of namespace ns installed, in
// its current version, in their node states (as nodestatus_test does),
// so that the learned bindings bind.
func installLearned(t *testing.T, ns string, nodes ...string) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			time.Sleep(100 * time.Millisecond)
			var list v1alpha1.SeccompProfileList
			if k8s.List(ctx, &list, client.MatchingLabels{recordings.LabelNamespace: ns}) != nil {
				continue
			}
			var states []v1alpha1.NodeProfileState
			for i := range list.Items {
				sp := &list.Items[i]
				flat, err := render.Flatten(ctx, controller.BaseLookup(k8s), sp)
				if err != nil {
					continue
				}
				b, err := render.Render(sp.Spec.Mode, flat, render.LogDenials(sp, true))
				if err != nil {
					continue
				}
				states = append(states, v1alpha1.NodeProfileState{Name: sp.Name, State: v1alpha1.InstallStateInstalled, ContentHash: render.Hash(b)})
			}
			for _, n := range nodes {
				var cur v1alpha1.SeccompNodeStatus
				if k8s.Get(ctx, client.ObjectKey{Name: n}, &cur) != nil || equality.Semantic.DeepEqual(cur.Status.Profiles, states) {
					continue
				}
				cur.Status.Profiles = states
				_ = k8s.Update(ctx, &cur) // a conflict: next round
			}
		}
	}()
}

func getRecording(name types.NamespacedName) *v1alpha1.ProfileRecording {
	var r v1alpha1.ProfileRecording
	if k8s.Get(context.Background(), name, &r) != nil {
		return nil
	}
	return &r
}

func condIs(r *v1alpha1.ProfileRecording, typ string, s metav1.ConditionStatus) bool {
	c := meta.FindStatusCondition(r.Status.Conditions, typ)
	return c != nil && c.Status == s
}

// workloadPods creates a Deployment, its ReplicaSet and n pods the way the
// controllers of a real cluster would (envtest runs none), labelled app=web.
func workloadPods(t *testing.T, ns string, n int) (*appsv1.Deployment, []*corev1.Pod) {
	t.Helper()
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	tmpl := corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: ns},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: labels}, Template: tmpl}}
	if err := k8s.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	rs := &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Name: "web-1", Namespace: ns,
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: d.Name, UID: d.UID, Controller: ptr.To(true)}}},
		Spec: appsv1.ReplicaSetSpec{Selector: d.Spec.Selector, Template: tmpl}}
	if err := k8s.Create(ctx, rs); err != nil {
		t.Fatal(err)
	}
	var pods []*corev1.Pod
	for i := range n {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("web-%d", i+1), Namespace: ns, Labels: labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}},
			Spec: tmpl.Spec}
		if err := k8s.Create(ctx, p); err != nil {
			t.Fatal(err)
		}
		pods = append(pods, p)
	}
	return d, pods
}

func recEntry(r *v1alpha1.ProfileRecording, p *corev1.Pod, src v1alpha1.RecordSource, names ...string) v1alpha1.NodeRecording {
	return v1alpha1.NodeRecording{Recording: recordings.Key(r), RecordingUID: string(r.UID), Pod: p.Name, PodUID: string(p.UID),
		Container: "app", Source: src, FromStart: true, Architectures: []string{"x86_64"}, Syscalls: names}
}

// The whole phase machine on the real apiserver, with the node states
// written as the agents write them: Recording merges 3 pods on 2 nodes
// with coverage; Applying writes the profile in Complain mode, binds it,
// restarts the Deployment once, soaks (a would-be denial reported during
// the soak ends up in the profile), enforces and restarts once more; an
// enforce denial is reported, not added. The manager is restarted mid-
// recording and mid-soak: nothing is lost and nothing restarts twice.
// Deleting the recording keeps the learned profile and binding.
func TestRecordingLifecycle(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "rec-life", nil)
	mgr := startRecordingManager(t)
	d, pods := workloadPods(t, "rec-life", 3)
	key := types.NamespacedName{Namespace: "rec-life", Name: "web"}
	rec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace},
		Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Soak: &metav1.Duration{Duration: 3 * time.Second}, Restart: true}}
	if err := k8s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "phase Recording, waiting for nodes, 3 pods selected", func() bool {
		r := getRecording(key)
		c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionRecording)
		return r.Status.Phase == v1alpha1.RecordingPhaseRecording && c != nil && c.Reason == controller.ReasonWaiting && strings.Contains(c.Message, "3 pod(s) selected")
	})
	// Runtime-only marks go through both objects: write is the workload's
	// in one replica, so not runtime-only; futex only the runtime's.
	p1 := recEntry(rec, pods[1], v1alpha1.RecordSourceEBPF, "read", "write")
	p1.RuntimeOnly = []string{"write"}
	p2 := recEntry(rec, pods[2], v1alpha1.RecordSourceEBPF, "futex", "read")
	p2.RuntimeOnly = []string{"futex"}
	writeNodeRecordings(t, "rec-n1", &v1alpha1.NodeRecorder{Attached: true, Dropped: 1},
		recEntry(rec, pods[0], v1alpha1.RecordSourceEBPF, "openat", "read", "write"), p1)
	writeNodeRecordings(t, "rec-n2", &v1alpha1.NodeRecorder{Attached: true}, p2)
	wantSyscalls := []v1alpha1.RecordedSyscall{{Name: "futex", Replicas: 1, RuntimeOnly: true}, {Name: "openat", Replicas: 1}, {Name: "read", Replicas: 3}, {Name: "write", Replicas: 2}}
	merged := func() bool {
		r := getRecording(key)
		return r.Status.Pods == 3 && slices.Equal(r.Status.Nodes, []string{"rec-n1", "rec-n2"}) && r.Status.Dropped == 1 &&
			len(r.Status.Containers) == 1 && r.Status.Containers[0].Replicas == 3 && slices.Equal(r.Status.Containers[0].Syscalls, wantSyscalls) &&
			condIs(r, v1alpha1.ConditionRecording, metav1.ConditionTrue)
	}
	eventually(t, "3 pods on 2 nodes merged with coverage", merged)

	// Manager restart mid-recording: the merge is the same, and what a
	// node adds meanwhile is merged.
	mgr.stop()
	p2 = recEntry(rec, pods[2], v1alpha1.RecordSourceEBPF, "futex", "read", "write")
	p2.RuntimeOnly = []string{"futex"}
	writeNodeRecordings(t, "rec-n2", &v1alpha1.NodeRecorder{Attached: true}, p2)
	mgr = startRecordingManager(t)
	wantSyscalls[3].Replicas = 3
	eventually(t, "the restarted manager merged the write of the third pod", merged)

	// Applying: the profile in Complain mode, with coverage, and its binding.
	setMode(t, key, v1alpha1.RecordingModeApplying)
	profName := recordings.ProfileName(rec, "app")
	bindName := recordings.BindingName(rec, "app")
	generation := func() int64 {
		var cur appsv1.Deployment
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), &cur); err != nil {
			t.Fatal(err)
		}
		return cur.Generation
	}
	// Until the nodes install the profile, the binding does not bind: no
	// soak, no restart (restarted pods would be refused).
	eventually(t, "Bound False Pending while no node installed the profile", func() bool {
		r := getRecording(key)
		c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionBound)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == controller.ReasonBindingPending && r.Status.SoakStartTime == nil
	})
	time.Sleep(time.Second)
	if r := getRecording(key); r.Status.SoakStartTime != nil || generation() != 1 {
		t.Fatalf("soak started (%v) or Deployment restarted (generation %d) before the profile was installed", r.Status.SoakStartTime, generation())
	}
	installLearned(t, "rec-life", "rec-n1", "rec-n2")
	var prof v1alpha1.SeccompProfile
	eventually(t, "phase Verifying with the learned profile in Complain mode", func() bool {
		r := getRecording(key)
		return r.Status.Phase == v1alpha1.RecordingPhaseVerifying && r.Status.SoakStartTime != nil &&
			k8s.Get(ctx, client.ObjectKey{Name: profName}, &prof) == nil && prof.Spec.Mode == v1alpha1.ModeComplain
	})
	eventually(t, "the learned profile compiles (Ready)", func() bool {
		var cur v1alpha1.SeccompProfile
		return k8s.Get(ctx, client.ObjectKey{Name: profName}, &cur) == nil && meta.IsStatusConditionTrue(cur.Status.Conditions, v1alpha1.ConditionReady)
	})
	if got := prof.Annotations[v1alpha1.AnnotationRecordingCoverage]; got != "3,futex=1,openat=1" {
		t.Errorf("coverage %q", got)
	}
	if prof.Labels[v1alpha1.LabelRecording] != "web" || prof.Annotations[recordings.AnnotationRecording] != "rec-life/web" || len(prof.OwnerReferences) != 0 {
		t.Errorf("labels %v annotations %v owners %v", prof.Labels, prof.Annotations, prof.OwnerReferences)
	}
	if names := prof.Spec.Syscalls[0].Names; !slices.Equal(names, []string{"futex", "openat", "read", "write"}) || prof.Spec.DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("profile %+v", prof.Spec)
	}
	var b v1alpha1.ProfileBinding
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: bindName}, &b); err != nil {
		t.Fatal(err)
	}
	if b.Spec.ProfileName != profName || !slices.Equal(b.Spec.ContainerNames, []string{"app"}) || b.Spec.PodSelector.MatchLabels["app"] != "web" || len(b.OwnerReferences) != 0 {
		t.Errorf("binding %+v", b)
	}
	restartedFor := func() string {
		var cur appsv1.Deployment
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(d), &cur); err != nil {
			t.Fatal(err)
		}
		return cur.Spec.Template.Annotations[controller.AnnotationRestartedFor] + fmt.Sprintf("@%d", cur.Generation)
	}
	eventually(t, "the Deployment restarted for the complain step", func() bool {
		return strings.Contains(restartedFor(), "/complain/") && strings.HasSuffix(restartedFor(), "@2")
	})

	// Manager restart mid-soak, with a would-be denial reported meanwhile:
	// it ends up in the profile and status, and the Deployment is not
	// restarted again for the same step.
	mgr.stop()
	writeNodeRecordings(t, "rec-n1", &v1alpha1.NodeRecorder{Attached: false, Dropped: 1},
		recEntry(rec, pods[0], v1alpha1.RecordSourceEBPF, "openat", "read", "write"),
		recEntry(rec, pods[1], v1alpha1.RecordSourceEBPF, "read", "write"),
		recEntry(rec, pods[0], v1alpha1.RecordSourceComplain, "getrandom"))
	startRecordingManager(t)
	eventually(t, "phase Enforcing with getrandom added during the soak", func() bool {
		r := getRecording(key)
		c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionVerified)
		return r.Status.Phase == v1alpha1.RecordingPhaseEnforcing && c != nil && c.Status == metav1.ConditionTrue &&
			strings.Contains(c.Message, "1 syscall(s) added during the soak") && slices.Equal(r.Status.Containers[0].WouldDeny, []string{"getrandom"}) &&
			k8s.Get(ctx, client.ObjectKey{Name: profName}, &prof) == nil && prof.Spec.Mode == v1alpha1.ModeEnforce &&
			slices.Contains(prof.Spec.Syscalls[0].Names, "getrandom")
	})
	eventually(t, "the Deployment restarted for the enforce step", func() bool {
		return strings.Contains(restartedFor(), "/enforce/") && strings.HasSuffix(restartedFor(), "@3")
	})

	eventually(t, "Events on the recording for each step", func() bool {
		var evs eventsv1.EventList
		if k8s.List(ctx, &evs, client.InNamespace(key.Namespace)) != nil {
			return false
		}
		seen := map[string]bool{}
		for _, e := range evs.Items {
			if e.Regarding.Kind == "ProfileRecording" && e.Regarding.Name == key.Name {
				seen[e.Reason] = true
			}
		}
		return seen["ProfilesCreated"] && seen["SoakStarted"] && seen["Restarted"] && seen["Enforced"]
	})
	eventKept := func() bool {
		var evs eventsv1.EventList
		if k8s.List(ctx, &evs, client.InNamespace(key.Namespace)) != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.Regarding.Name == key.Name && e.Reason == "LearnedProfilesKept" {
				return true
			}
		}
		return false
	}

	// A denial of the enforced profile is reported and not added.
	writeNodeRecordings(t, "rec-n2", &v1alpha1.NodeRecorder{Attached: false},
		recEntry(rec, pods[2], v1alpha1.RecordSourceEBPF, "futex", "read", "write"),
		recEntry(rec, pods[2], v1alpha1.RecordSourceEnforce, "ptrace"))
	eventually(t, "Denials True, ptrace denied", func() bool {
		r := getRecording(key)
		return condIs(r, v1alpha1.ConditionDenials, metav1.ConditionTrue) && slices.Equal(r.Status.Containers[0].Denied, []string{"ptrace"})
	})
	if err := k8s.Get(ctx, client.ObjectKey{Name: profName}, &prof); err != nil || slices.Contains(prof.Spec.Syscalls[0].Names, "ptrace") {
		t.Errorf("enforce denial added to the profile: %v %v", prof.Spec.Syscalls, err)
	}
	time.Sleep(time.Second) // time for a wrong second restart to show
	if got := restartedFor(); !strings.HasSuffix(got, "@3") {
		t.Errorf("the Deployment was restarted more than once per step: %s", got)
	}

	// Deleting the recording keeps what pods may run.
	if err := k8s.Delete(ctx, rec); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the recording gone", func() bool { return getRecording(key) == nil })
	eventually(t, "an Event saying the learned profiles are kept", eventKept)
	if err := k8s.Get(ctx, client.ObjectKey{Name: profName}, &prof); err != nil {
		t.Errorf("learned profile deleted with the recording: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: bindName}, &b); err != nil {
		t.Errorf("learned binding deleted with the recording: %v", err)
	}
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &prof)
		_ = k8s.Delete(context.Background(), &b)
	})
}

func setMode(t *testing.T, key types.NamespacedName, mode v1alpha1.RecordingMode) {
	t.Helper()
	r := getRecording(key)
	patch := client.MergeFrom(r.DeepCopy())
	r.Spec.Mode = mode
	if err := k8s.Patch(context.Background(), r, patch); err != nil {
		t.Fatal(err)
	}
}

// The log recorder: a log-everything profile bound to the selected pods
// while Recording, removed when Disabled and when the recording is
// deleted; an invalid selector fails the recording with the reason.
func TestRecordingLogRecorder(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "rec-log", nil)
	startRecordingManager(t)
	key := types.NamespacedName{Namespace: "rec-log", Name: "db"}
	rec := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace},
		Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Containers: []string{"postgres"}, Recorder: v1alpha1.RecorderLog}}
	if err := k8s.Create(ctx, rec); err != nil {
		t.Fatal(err)
	}
	logProf := &v1alpha1.SeccompProfile{}
	logBind := &v1alpha1.ProfileBinding{}
	present := func() bool {
		return k8s.Get(ctx, client.ObjectKey{Name: recordings.LogProfileName(rec)}, logProf) == nil &&
			k8s.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: recordings.BindingName(rec, "")}, logBind) == nil
	}
	absent := func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Name: recordings.LogProfileName(rec)}, &v1alpha1.SeccompProfile{})) &&
			apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: recordings.BindingName(rec, "")}, &v1alpha1.ProfileBinding{}))
	}
	eventually(t, "the log profile and its binding", present)
	if logProf.Spec.DefaultAction != "SCMP_ACT_LOG" || len(logProf.Spec.Syscalls) != 0 || logBind.Spec.ProfileName != logProf.Name ||
		!slices.Equal(logBind.Spec.ContainerNames, []string{"postgres"}) || logBind.Spec.PodSelector.MatchLabels["app"] != "db" || logBind.Spec.Priority != 1000 {
		t.Errorf("log profile %+v binding %+v", logProf.Spec, logBind.Spec)
	}
	eventually(t, "Recording False: no pod selected", func() bool {
		c := meta.FindStatusCondition(getRecording(key).Status.Conditions, v1alpha1.ConditionRecording)
		return c != nil && c.Reason == controller.ReasonNoPods
	})
	setMode(t, key, v1alpha1.RecordingModeDisabled)
	eventually(t, "phase Disabled, log objects removed", func() bool {
		return getRecording(key).Status.Phase == v1alpha1.RecordingPhaseDisabled && absent()
	})
	setMode(t, key, v1alpha1.RecordingModeRecording)
	eventually(t, "the log objects again", present)

	r := getRecording(key)
	patch := client.MergeFrom(r.DeepCopy())
	r.Spec.PodSelector = metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{Key: "app", Operator: "In"}}}
	if err := k8s.Patch(ctx, r, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, "phase Failed with the selector's error", func() bool {
		r := getRecording(key)
		c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionRecording)
		return r.Status.Phase == v1alpha1.RecordingPhaseFailed && c != nil && c.Reason == controller.ReasonInvalidSelector && strings.Contains(c.Message, "spec.podSelector")
	})
	setModeSelector(t, key)
	eventually(t, "the log objects again", present)
	if err := k8s.Delete(ctx, getRecording(key)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "recording deleted, log objects removed by the finalizer", func() bool { return getRecording(key) == nil && absent() })
}

func setModeSelector(t *testing.T, key types.NamespacedName) {
	t.Helper()
	r := getRecording(key)
	patch := client.MergeFrom(r.DeepCopy())
	r.Spec.PodSelector = metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}
	if err := k8s.Patch(context.Background(), r, patch); err != nil {
		t.Fatal(err)
	}
}

// mergeStrategy none makes one profile per pod, left unbound in Complain
// mode (Bound False, PerPodProfiles); with containers, going back from
// Applying to Recording keeps the profiles and bindings, and Applying again
// soaks again (here for 0 s).
func TestRecordingPerPodAndBack(t *testing.T) {
	ctx := context.Background()
	policyNamespace(t, "rec-back", nil)
	startRecordingManager(t)
	_, pods := workloadPods(t, "rec-back", 2)
	mk := func(name string, strategy v1alpha1.MergeStrategy) *v1alpha1.ProfileRecording {
		r := &v1alpha1.ProfileRecording{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "rec-back"},
			Spec: v1alpha1.ProfileRecordingSpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
				MergeStrategy: strategy, Soak: &metav1.Duration{}}}
		if err := k8s.Create(ctx, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	none, cont := mk("per-pod", v1alpha1.MergeNone), mk("merged", v1alpha1.MergeContainers)
	var entries []v1alpha1.NodeRecording
	for _, r := range []*v1alpha1.ProfileRecording{none, cont} {
		entries = append(entries, recEntry(r, pods[0], v1alpha1.RecordSourceEBPF, "read"), recEntry(r, pods[1], v1alpha1.RecordSourceEBPF, "write"))
	}
	writeNodeRecordings(t, "rec-back-n1", &v1alpha1.NodeRecorder{Attached: true}, entries...)
	installLearned(t, "rec-back", "rec-back-n1")
	for _, r := range []*v1alpha1.ProfileRecording{none, cont} {
		key := client.ObjectKeyFromObject(r)
		eventually(t, r.Name+" merged", func() bool { return getRecording(key).Status.Pods == 2 })
		setMode(t, key, v1alpha1.RecordingModeApplying)
	}
	noneKey, contKey := client.ObjectKeyFromObject(none), client.ObjectKeyFromObject(cont)
	eventually(t, "per-pod profiles in Complain mode, not bound", func() bool {
		r := getRecording(noneKey)
		c := meta.FindStatusCondition(r.Status.Conditions, v1alpha1.ConditionBound)
		if c == nil || c.Reason != controller.ReasonPerPodProfiles || len(r.Status.Containers) != 2 {
			return false
		}
		for _, p := range pods {
			var sp v1alpha1.SeccompProfile
			if k8s.Get(ctx, client.ObjectKey{Name: recordings.ProfileName(none, p.Name+"/app")}, &sp) != nil || sp.Spec.Mode != v1alpha1.ModeComplain {
				return false
			}
		}
		return true
	})
	var bindings v1alpha1.ProfileBindingList
	if err := k8s.List(ctx, &bindings, client.InNamespace("rec-back"), client.MatchingLabels{v1alpha1.LabelRecording: none.Name}); err != nil || len(bindings.Items) != 0 {
		t.Errorf("per-pod profiles bound: %v %v", bindings.Items, err)
	}
	profName, bindName := recordings.ProfileName(cont, "app"), recordings.BindingName(cont, "app")
	enforced := func() bool {
		var sp v1alpha1.SeccompProfile
		return getRecording(contKey).Status.Phase == v1alpha1.RecordingPhaseEnforcing &&
			k8s.Get(ctx, client.ObjectKey{Name: profName}, &sp) == nil && sp.Spec.Mode == v1alpha1.ModeEnforce
	}
	eventually(t, "merged: enforced at once (soak 0)", enforced)
	setMode(t, contKey, v1alpha1.RecordingModeRecording)
	eventually(t, "back to Recording, soak reset", func() bool {
		r := getRecording(contKey)
		return r.Status.Phase == v1alpha1.RecordingPhaseRecording && r.Status.SoakStartTime == nil
	})
	var sp v1alpha1.SeccompProfile
	var b v1alpha1.ProfileBinding
	if err := k8s.Get(ctx, client.ObjectKey{Name: profName}, &sp); err != nil {
		t.Errorf("profile gone when recording again: %v", err)
	}
	if err := k8s.Get(ctx, client.ObjectKey{Namespace: "rec-back", Name: bindName}, &b); err != nil {
		t.Errorf("binding gone when recording again: %v", err)
	}
	setMode(t, contKey, v1alpha1.RecordingModeApplying)
	eventually(t, "enforced again after a new soak", func() bool { return enforced() && getRecording(contKey).Status.SoakStartTime != nil })
	t.Cleanup(func() {
		var list v1alpha1.SeccompProfileList
		_ = k8s.List(context.Background(), &list, client.MatchingLabels{recordings.LabelNamespace: "rec-back"})
		for i := range list.Items {
			_ = k8s.Delete(context.Background(), &list.Items[i])
		}
	})
}
