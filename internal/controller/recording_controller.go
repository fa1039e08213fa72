package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/recordings"
)

// Reasons and conditions of a ProfileRecording beyond the API's.
const (
	// ConditionResultsRead: every persisted node result of the recording
	// could be used (False: the message says what could not).
	ConditionResultsRead = "ResultsRead"
	// ConditionRestarted: the workloads were restarted for a step (its
	// message names them); see recording_restart.go.
	ConditionRestarted = "Restarted"

	ReasonInvalidSelector = "InvalidSelector"
	ReasonNoPods          = "NoPodSelected"
	ReasonRecording       = "Recording"
	ReasonWaiting         = "WaitingForNodes"
	ReasonNotRecording    = "NotRecording"
	ReasonNothingRecorded = "NothingRecorded"
	ReasonCreated         = "Created"
	ReasonBound           = "Bound"
	ReasonPerPodProfiles  = "PerPodProfiles"
	ReasonSoaking         = "Soaking"
	ReasonSoaked          = "Soaked"
	ReasonDenied          = "Denied"
	ReasonNoDenials       = "NoDenials"
	ReasonAllRead         = "AllRead"
	ReasonUnusable        = "UnusableEntries"
	ReasonApplyFailed     = "ApplyFailed"
	ReasonBindingPending  = "Pending"
)

// recordingFinalizer lets the manager remove what a recording must not
// leave behind (the log profile, which nothing can own); learned profiles
// and their bindings are never removed by it.
const recordingFinalizer = "seccomp-operator.dev/recording-cleanup"

// DefaultSoak is the soak of a recording that sets none.
const DefaultSoak = 5 * time.Minute

// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilerecordings,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilerecordings/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilerecordings/finalizers,verbs=update
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompprofiles,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=profilebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=seccomp-operator.dev,resources=seccompnodestatuses,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=pods,verbs=list
// +kubebuilder:rbac:groups=apps,resources=replicasets,verbs=get
// +kubebuilder:rbac:groups=apps,resources=deployments;statefulsets;daemonsets,verbs=get;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// RecordingReconciler runs the lifecycle of each ProfileRecording
// (design/2026-12-06-profile-recording-lifecycle.md): it merges what the
// nodes' agents persisted in their SeccompNodeStatus, and in Applying writes
// the learned SeccompProfiles, binds them, soaks them in Complain mode and
// enforces them. Everything is computed from persisted state (node states,
// the recording's status, the objects), so a manager restart loses nothing.
type RecordingReconciler struct {
	client.Client
	// Reader reads pods and workloads straight from the apiserver (the
	// manager's API reader): a cache of every pod of the cluster would
	// cost more than the few reads recordings make. Nil: the client.
	Reader client.Reader
	// Events records the recording's steps (nil: none).
	Events events.EventRecorder
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// SetupWithManager registers the reconciler.
func (r *RecordingReconciler) SetupWithManager(mgr ctrl.Manager) error {
	byLabel := handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		name, ns := o.GetLabels()[v1alpha1.LabelRecording], o.GetLabels()[recordings.LabelNamespace]
		if name == "" || ns == "" {
			return nil
		}
		return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}}
	})
	// Any node state may hold results of any recording: a node writes on
	// change only, and recordings are few.
	all := handler.EnqueueRequestsFromMapFunc(func(ctx context.Context, _ client.Object) []reconcile.Request {
		var list v1alpha1.ProfileRecordingList
		if err := r.List(ctx, &list); err != nil {
			log.FromContext(ctx).Error(err, "list recordings")
			return nil
		}
		out := make([]reconcile.Request, 0, len(list.Items))
		for i := range list.Items {
			out = append(out, reconcile.Request{NamespacedName: client.ObjectKeyFromObject(&list.Items[i])})
		}
		return out
	})
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.ProfileRecording{}).
		Watches(&v1alpha1.SeccompNodeStatus{}, all).
		Watches(&v1alpha1.SeccompProfile{}, byLabel).
		Watches(&v1alpha1.ProfileBinding{}, byLabel).
		Named("profilerecording").
		Complete(r)
}

// reader is Reader, or the client when none is set.
func (r *RecordingReconciler) reader() client.Reader {
	if r.Reader != nil {
		return r.Reader
	}
	return r.Client
}

func (r *RecordingReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *RecordingReconciler) event(rec *v1alpha1.ProfileRecording, typ, reason, format string, args ...any) {
	if r.Events != nil {
		r.Events.Eventf(rec, nil, typ, reason, reason, format, args...)
	}
}

// Reconcile moves one recording through its lifecycle.
func (r *RecordingReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	var rec v1alpha1.ProfileRecording
	if err := r.Get(ctx, req.NamespacedName, &rec); err != nil {
		return reconcile.Result{}, client.IgnoreNotFound(err)
	}
	if !rec.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, r.finalize(ctx, &rec)
	}
	if !controllerutil.ContainsFinalizer(&rec, recordingFinalizer) {
		patch := client.MergeFrom(rec.DeepCopy())
		controllerutil.AddFinalizer(&rec, recordingFinalizer)
		if err := r.Patch(ctx, &rec, patch); err != nil {
			return reconcile.Result{}, fmt.Errorf("add the finalizer of recording %s: %w", req, err)
		}
	}
	var nodes v1alpha1.SeccompNodeStatusList
	if err := r.List(ctx, &nodes); err != nil {
		return reconcile.Result{}, fmt.Errorf("list node states: %w", err)
	}
	st := rec.Status.DeepCopy()
	st.ObservedGeneration = rec.Generation
	cond := func(typ string, s metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: rec.Generation})
	}
	m := mergeRecordings(&rec, nodes.Items)
	st.Containers, st.Nodes, st.Pods, st.Dropped = m.statusContainers(), m.nodes, int32(len(m.pods)), m.dropped
	if s := m.problemSummary(); s != "" {
		cond(ConditionResultsRead, metav1.ConditionFalse, ReasonUnusable, s)
	} else {
		cond(ConditionResultsRead, metav1.ConditionTrue, ReasonAllRead, "every node result of this recording was merged")
	}

	var res reconcile.Result
	var applyErr error
	sel, selErr := metav1.LabelSelectorAsSelector(&rec.Spec.PodSelector)
	mode := rec.EffectiveMode()
	switch {
	case mode == v1alpha1.RecordingModeDisabled:
		st.Phase = v1alpha1.RecordingPhaseDisabled
		if err := r.removeLog(ctx, &rec); err != nil {
			return res, err
		}
		cond(v1alpha1.ConditionRecording, metav1.ConditionFalse, ReasonNotRecording, "spec.mode is Disabled")
	case selErr != nil:
		st.Phase = v1alpha1.RecordingPhaseFailed
		if err := r.removeLog(ctx, &rec); err != nil {
			return res, err
		}
		cond(v1alpha1.ConditionRecording, metav1.ConditionFalse, ReasonInvalidSelector, "spec.podSelector is invalid: "+selErr.Error())
	case mode == v1alpha1.RecordingModeRecording:
		st.Phase = v1alpha1.RecordingPhaseRecording
		if rec.EffectiveRecorder() == v1alpha1.RecorderLog {
			if err := r.ensureLog(ctx, &rec); err != nil {
				return res, err
			}
		} else if err := r.removeLog(ctx, &rec); err != nil {
			return res, err
		}
		c, err := r.recordingCondition(ctx, &rec, sel, m)
		if err != nil {
			return res, err
		}
		meta.SetStatusCondition(&st.Conditions, c)
		// Applying again later soaks again: what is recorded now is not
		// verified yet. Profiles and bindings stay as they are.
		st.SoakStartTime = nil
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionVerified)
	default: // Applying
		if err := r.removeLog(ctx, &rec); err != nil {
			return res, err
		}
		cond(v1alpha1.ConditionRecording, metav1.ConditionFalse, ReasonNotRecording, "spec.mode is Applying: recording stopped")
		// A failed step is written to the status (apply set its
		// condition) before the error is returned for a retry.
		res, applyErr = r.apply(ctx, &rec, sel, m, st, cond)
	}
	switch {
	case m.denials:
		cond(v1alpha1.ConditionDenials, metav1.ConditionTrue, ReasonDenied, "the learned profiles denied syscalls: see status.containers[].denied")
	case st.Phase == v1alpha1.RecordingPhaseEnforcing:
		cond(v1alpha1.ConditionDenials, metav1.ConditionFalse, ReasonNoDenials, "the enforced profiles denied nothing so far")
	default:
		meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionDenials)
	}
	if equality.Semantic.DeepEqual(st, &rec.Status) {
		return res, applyErr
	}
	patch := client.MergeFrom(rec.DeepCopy())
	rec.Status = *st
	if err := r.Status().Patch(ctx, &rec, patch); err != nil {
		if apierrors.IsNotFound(err) {
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("patch status of recording %s: %w", req, err)
	}
	return res, applyErr
}

// recordingCondition says whether and where the selected pods are recorded.
func (r *RecordingReconciler) recordingCondition(ctx context.Context, rec *v1alpha1.ProfileRecording, sel labels.Selector, m *mergeResult) (metav1.Condition, error) {
	c := metav1.Condition{Type: v1alpha1.ConditionRecording, ObservedGeneration: rec.Generation}
	var pods corev1.PodList
	if err := r.reader().List(ctx, &pods, client.InNamespace(rec.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return c, fmt.Errorf("list the pods of recording %s/%s: %w", rec.Namespace, rec.Name, err)
	}
	switch {
	case len(m.nodes) > 0:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonRecording
		c.Message = fmt.Sprintf("%d pod(s) recorded on %d node(s); %d pod(s) selected now", len(m.pods), len(m.nodes), len(pods.Items))
	case len(pods.Items) == 0:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonNoPods
		c.Message = "spec.podSelector selects no pod of namespace " + rec.Namespace + ": pods created later are recorded"
	case len(m.attached) > 0:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonRecording
		c.Message = fmt.Sprintf("%d pod(s) selected; the recorder is attached on %d node(s), no result yet", len(pods.Items), len(m.attached))
	default:
		c.Status, c.Reason = metav1.ConditionFalse, ReasonWaiting
		c.Message = fmt.Sprintf("%d pod(s) selected; no node records them yet (see the nodes' status.recorder)", len(pods.Items))
	}
	return c, nil
}

// finalize removes the log profile and binding and lets the recording go;
// the learned profiles and their bindings stay (pods may run them).
func (r *RecordingReconciler) finalize(ctx context.Context, rec *v1alpha1.ProfileRecording) error {
	if !controllerutil.ContainsFinalizer(rec, recordingFinalizer) {
		return nil
	}
	if err := r.removeLog(ctx, rec); err != nil {
		return err
	}
	n := 0
	for _, c := range rec.Status.Containers {
		if c.Profile != "" {
			n++
		}
	}
	if n > 0 {
		r.event(rec, corev1.EventTypeNormal, "LearnedProfilesKept",
			"recording deleted: its %d learned SeccompProfile(s) and ProfileBinding(s) stay (pods may run them); delete them by label %s=%s", n, v1alpha1.LabelRecording, rec.Name)
		log.FromContext(ctx).Info("recording deleted; learned profiles and bindings kept", "recording", recordings.Key(rec))
	}
	patch := client.MergeFrom(rec.DeepCopy())
	controllerutil.RemoveFinalizer(rec, recordingFinalizer)
	if err := r.Patch(ctx, rec, patch); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("remove the finalizer of recording %s/%s: %w", rec.Namespace, rec.Name, err)
	}
	return nil
}

// recordingLabels are the labels of every object a recording creates.
func recordingLabels(rec *v1alpha1.ProfileRecording) map[string]string {
	return map[string]string{v1alpha1.LabelRecording: rec.Name, recordings.LabelNamespace: rec.Namespace}
}

// ensureLog makes the log recorder's profile (allow and log everything)
// and the binding that puts the selected pods under it.
func (r *RecordingReconciler) ensureLog(ctx context.Context, rec *v1alpha1.ProfileRecording) error {
	p := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: recordings.LogProfileName(rec)}}
	op, err := controllerutil.CreateOrUpdate(ctx, r.Client, p, func() error {
		p.Labels = recordingLabels(rec)
		p.Annotations = map[string]string{recordings.AnnotationRecording: recordings.Key(rec), recordings.AnnotationRecordingUID: string(rec.UID)}
		p.Spec = v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_LOG", Architectures: v1alpha1.DefaultArchitectures(), Mode: v1alpha1.ModeEnforce}
		return nil
	})
	if err != nil {
		return fmt.Errorf("apply the log profile of recording %s: %w", recordings.Key(rec), err)
	}
	b := &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Name: recordings.BindingName(rec, ""), Namespace: rec.Namespace}}
	if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, b, func() error {
		b.Labels = recordingLabels(rec)
		// The highest priority: while recording again after Applying,
		// new pods get the log profile, not the learned one bound before.
		b.Spec = v1alpha1.ProfileBindingSpec{ProfileName: p.Name, PodSelector: rec.Spec.PodSelector.DeepCopy(), ContainerNames: rec.Spec.Containers, Priority: 1000}
		return controllerutil.SetControllerReference(rec, b, r.Scheme())
	}); err != nil {
		return fmt.Errorf("apply the log binding of recording %s: %w", recordings.Key(rec), err)
	}
	if op == controllerutil.OperationResultCreated {
		r.event(rec, corev1.EventTypeNormal, "LogProfileBound", "SeccompProfile %s (logs every syscall) bound to the selected pods by ProfileBinding %s: pods created from now on are recorded", p.Name, b.Name)
	}
	return nil
}

// removeLog deletes the log profile and binding, if any.
func (r *RecordingReconciler) removeLog(ctx context.Context, rec *v1alpha1.ProfileRecording) error {
	b := &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Name: recordings.BindingName(rec, ""), Namespace: rec.Namespace}}
	if err := r.Delete(ctx, b); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete the log binding of recording %s: %w", recordings.Key(rec), err)
	}
	p := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: recordings.LogProfileName(rec)}}
	if err := r.Delete(ctx, p); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete the log profile of recording %s: %w", recordings.Key(rec), err)
	}
	return nil
}

// soak is the recording's soak with its default.
func soak(rec *v1alpha1.ProfileRecording) time.Duration {
	if rec.Spec.Soak == nil {
		return DefaultSoak
	}
	return max(rec.Spec.Soak.Duration, 0)
}

// apply writes the learned profiles and bindings and runs the soak: the
// Applying steps (1)–(5) of the design note.
func (r *RecordingReconciler) apply(ctx context.Context, rec *v1alpha1.ProfileRecording, sel labels.Selector, m *mergeResult,
	st *v1alpha1.ProfileRecordingStatus, cond func(string, metav1.ConditionStatus, string, string)) (reconcile.Result, error) {
	if len(m.containers) == 0 {
		st.Phase = v1alpha1.RecordingPhaseFailed
		cond(v1alpha1.ConditionProfilesCreated, metav1.ConditionFalse, ReasonNothingRecorded,
			"nothing was recorded: set spec.mode back to Recording and run the workload")
		return reconcile.Result{}, nil
	}
	now := r.now()
	soaked := st.SoakStartTime != nil && !now.Before(st.SoakStartTime.Add(soak(rec)))
	perPod := rec.EffectiveMergeStrategy() == v1alpha1.MergeNone
	mode := v1alpha1.ModeComplain
	if soaked && !perPod {
		mode = v1alpha1.ModeEnforce
	}
	keys := sortedKeys(m.containers)
	var created []string
	current := true // every profile installed everywhere in its current version
	for _, key := range keys {
		name := recordings.ProfileName(rec, key)
		c := m.containers[key]
		p := &v1alpha1.SeccompProfile{ObjectMeta: metav1.ObjectMeta{Name: name}}
		op, err := controllerutil.CreateOrUpdate(ctx, r.Client, p, func() error {
			if p.Labels == nil {
				p.Labels = map[string]string{}
			}
			for k, v := range recordingLabels(rec) {
				p.Labels[k] = v
			}
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations[v1alpha1.AnnotationRecordingCoverage] = c.coverage()
			p.Annotations[recordings.AnnotationRecording] = recordings.Key(rec)
			p.Annotations[recordings.AnnotationRecordingUID] = string(rec.UID)
			p.Annotations[recordings.AnnotationMergeKey] = key
			p.Spec = learnedProfile(c, mode)
			return nil
		})
		if err != nil {
			err = fmt.Errorf("apply learned profile %s of recording %s: %w", name, recordings.Key(rec), err)
			cond(v1alpha1.ConditionProfilesCreated, metav1.ConditionFalse, ReasonApplyFailed, err.Error())
			return reconcile.Result{}, err
		}
		if op == controllerutil.OperationResultCreated {
			created = append(created, name)
		}
		current = current && p.Spec.Mode == mode && IndexValue(p) == v1alpha1.ProfileIndexInstalled
		for i := range st.Containers {
			if st.Containers[i].Name == key {
				st.Containers[i].Profile = name
			}
		}
	}
	if len(created) > 0 {
		r.event(rec, corev1.EventTypeNormal, "ProfilesCreated", "created %d SeccompProfile(s) in Complain mode: %s", len(created), strings.Join(created, ", "))
	}
	cond(v1alpha1.ConditionProfilesCreated, metav1.ConditionTrue, ReasonCreated,
		fmt.Sprintf("%d SeccompProfile(s) labelled %s=%s, mode %s", len(keys), v1alpha1.LabelRecording, rec.Name, mode))
	if perPod {
		st.Phase = v1alpha1.RecordingPhaseVerifying
		cond(v1alpha1.ConditionBound, metav1.ConditionFalse, ReasonPerPodProfiles,
			"mergeStrategy none makes one profile per pod, which no pod selector can bind: bind the one you choose with a ProfileBinding (status.containers[].profile); it runs in Complain mode until you set its spec.mode to Enforce")
		return reconcile.Result{}, nil
	}
	for _, key := range keys {
		b := &v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Name: recordings.BindingName(rec, key), Namespace: rec.Namespace}}
		if _, err := controllerutil.CreateOrUpdate(ctx, r.Client, b, func() error {
			b.Labels = recordingLabels(rec)
			b.Spec = v1alpha1.ProfileBindingSpec{ProfileName: recordings.ProfileName(rec, key), PodSelector: rec.Spec.PodSelector.DeepCopy(), ContainerNames: []string{key}}
			return nil
		}); err != nil {
			err = fmt.Errorf("apply binding %s of recording %s: %w", b.Name, recordings.Key(rec), err)
			cond(v1alpha1.ConditionBound, metav1.ConditionFalse, ReasonApplyFailed, err.Error())
			return reconcile.Result{}, err
		}
	}
	// The soak and the restarts wait until the bindings really bind: a
	// pod created before the binding is compiled into admission would run
	// without the profile, one created before the profile is installed on
	// every node would be refused.
	if pending, err := r.pendingBindings(ctx, rec, keys); err != nil {
		return reconcile.Result{}, err
	} else if len(pending) > 0 {
		if st.SoakStartTime == nil {
			st.Phase = v1alpha1.RecordingPhaseVerifying
		}
		cond(v1alpha1.ConditionBound, metav1.ConditionFalse, ReasonBindingPending,
			"waiting for ProfileBinding(s) "+strings.Join(pending, ", ")+" to be compiled into admission and their profiles installed on every node (their conditions Ready and ProfileInstalled)")
		return reconcile.Result{}, nil // the bindings' and profiles' status changes requeue
	}
	cond(v1alpha1.ConditionBound, metav1.ConditionTrue, ReasonBound,
		fmt.Sprintf("%d ProfileBinding(s) bind the learned profiles to the pods spec.podSelector selects, by container name", len(keys)))
	if st.SoakStartTime == nil {
		// The soak starts now; the status carries it before anything
		// (a restart) depends on it, so a manager restart resumes it.
		t := metav1.NewTime(now)
		st.SoakStartTime = &t
		st.Phase = v1alpha1.RecordingPhaseVerifying
		cond(v1alpha1.ConditionVerified, metav1.ConditionFalse, ReasonSoaking, fmt.Sprintf("soaking in Complain mode for %s", soak(rec)))
		r.event(rec, corev1.EventTypeNormal, "SoakStarted", "learned profiles bound in Complain mode; enforced after a soak of %s", soak(rec))
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	}
	added := 0
	for _, c := range m.containers {
		added += len(c.wouldNames)
	}
	if !soaked {
		if err := r.restartStep(ctx, rec, sel, st, "complain"); err != nil {
			return reconcile.Result{}, err
		}
		st.Phase = v1alpha1.RecordingPhaseVerifying
		end := st.SoakStartTime.Add(soak(rec))
		cond(v1alpha1.ConditionVerified, metav1.ConditionFalse, ReasonSoaking,
			fmt.Sprintf("soaking in Complain mode until %s; %d syscall(s) the profiles would have denied added so far", end.UTC().Format(time.RFC3339), added))
		return reconcile.Result{RequeueAfter: end.Sub(now)}, nil
	}
	was := meta.FindStatusCondition(st.Conditions, v1alpha1.ConditionVerified)
	if was == nil || was.Status != metav1.ConditionTrue {
		r.event(rec, corev1.EventTypeNormal, "Enforced", "soak of %s ended, %d syscall(s) added during it: learned profiles switched to Enforce", soak(rec), added)
	}
	cond(v1alpha1.ConditionVerified, metav1.ConditionTrue, ReasonSoaked,
		fmt.Sprintf("soak of %s ended: %d syscall(s) added during the soak; the profiles are enforced", soak(rec), added))
	st.Phase = v1alpha1.RecordingPhaseEnforcing
	// Restarted pods must start with the enforced version: the restart
	// waits until every node installed it (the profiles' status changes
	// requeue).
	if current {
		if err := r.restartStep(ctx, rec, sel, st, "enforce"); err != nil {
			return reconcile.Result{}, err
		}
	}
	return reconcile.Result{}, nil
}

// pendingBindings are the learned bindings of keys that do not bind yet:
// not compiled into admission (Ready) or their profile not installed on
// every node (ProfileInstalled), as of their current generation.
func (r *RecordingReconciler) pendingBindings(ctx context.Context, rec *v1alpha1.ProfileRecording, keys []string) ([]string, error) {
	var pending []string
	for _, key := range keys {
		var b v1alpha1.ProfileBinding
		name := recordings.BindingName(rec, key)
		if err := r.Get(ctx, client.ObjectKey{Namespace: rec.Namespace, Name: name}, &b); err != nil {
			if apierrors.IsNotFound(err) {
				pending = append(pending, name)
				continue
			}
			return nil, fmt.Errorf("read ProfileBinding %s/%s: %w", rec.Namespace, name, err)
		}
		if b.Status.ObservedGeneration != b.Generation || !meta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionReady) ||
			!meta.IsStatusConditionTrue(b.Status.Conditions, v1alpha1.ConditionProfileInstalled) {
			pending = append(pending, name)
		}
	}
	return pending, nil
}
