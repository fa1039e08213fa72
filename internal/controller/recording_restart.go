package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// Pod template annotations of a restart (spec.restart). restartedAt makes
// the rollout, as `kubectl rollout restart` does with its own key;
// restartedFor names the recording, step and soak it was made for, so that
// the same step is never restarted twice, not even by a manager that
// crashed between the patch and the status write.
const (
	AnnotationRestartedAt  = "seccomp-operator.dev/restartedAt"
	AnnotationRestartedFor = "seccomp-operator.dev/restartedFor"
)

// workload is a Deployment, StatefulSet or DaemonSet by kind and name.
type workload struct{ kind, name string }

// restartStep restarts, once per step ("complain", "enforce") of a soak,
// the workloads owning the pods the recording selects, and says so in the
// Restarted condition.
func (r *RecordingReconciler) restartStep(ctx context.Context, rec *v1alpha1.ProfileRecording, sel labels.Selector, st *v1alpha1.ProfileRecordingStatus, step string) error {
	if !rec.Spec.Restart || st.SoakStartTime == nil {
		return nil
	}
	reason := strings.ToUpper(step[:1]) + step[1:]
	if c := meta.FindStatusCondition(st.Conditions, ConditionRestarted); c != nil && c.Reason == reason && !c.LastTransitionTime.Before(st.SoakStartTime) {
		return nil // done for this step of this soak
	}
	marker := fmt.Sprintf("%s/%s/%d", rec.UID, step, st.SoakStartTime.Unix())
	failed := func(err error) error {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionRestarted, Status: metav1.ConditionFalse, Reason: "RestartFailed",
			Message: err.Error(), ObservedGeneration: rec.Generation})
		return err
	}
	ws, err := r.owningWorkloads(ctx, rec.Namespace, sel)
	if err != nil {
		return failed(err)
	}
	var done []string
	for _, w := range ws {
		restarted, err := r.restartWorkload(ctx, rec.Namespace, w, marker)
		if err != nil {
			return failed(err)
		}
		if restarted {
			done = append(done, w.kind+"/"+w.name)
		}
	}
	names := make([]string, len(ws))
	for i, w := range ws {
		names[i] = w.kind + "/" + w.name
	}
	msg := "no Deployment, StatefulSet or DaemonSet owns the selected pods: nothing to restart"
	if len(ws) > 0 {
		msg = fmt.Sprintf("restarted for the %s step: %s", step, strings.Join(names, ", "))
		if len(done) > 0 {
			r.event(rec, corev1.EventTypeNormal, "Restarted", "rollout restart of %s so that the running pods get the %s profiles", strings.Join(done, ", "), step)
		}
	}
	// A new transition (reason changes from step to step, or from a past
	// soak): its time dates the restart.
	meta.RemoveStatusCondition(&st.Conditions, ConditionRestarted)
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: ConditionRestarted, Status: metav1.ConditionTrue, Reason: reason, Message: msg, ObservedGeneration: rec.Generation})
	return nil
}

// owningWorkloads are the Deployments (through their ReplicaSets),
// StatefulSets and DaemonSets that control the selected pods, sorted.
func (r *RecordingReconciler) owningWorkloads(ctx context.Context, ns string, sel labels.Selector) ([]workload, error) {
	var pods corev1.PodList
	if err := r.reader().List(ctx, &pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, fmt.Errorf("list the selected pods of %s: %w", ns, err)
	}
	var out []workload
	add := func(w workload) {
		if !slices.Contains(out, w) {
			out = append(out, w)
		}
	}
	for i := range pods.Items {
		ref := metav1.GetControllerOf(&pods.Items[i])
		if ref == nil {
			continue
		}
		switch ref.Kind {
		case "StatefulSet", "DaemonSet":
			add(workload{ref.Kind, ref.Name})
		case "ReplicaSet":
			var rs appsv1.ReplicaSet
			if err := r.reader().Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &rs); err != nil {
				if client.IgnoreNotFound(err) == nil {
					continue
				}
				return nil, fmt.Errorf("read ReplicaSet %s/%s: %w", ns, ref.Name, err)
			}
			if d := metav1.GetControllerOf(&rs); d != nil && d.Kind == "Deployment" {
				add(workload{"Deployment", d.Name})
			}
		}
	}
	slices.SortFunc(out, func(a, b workload) int { return strings.Compare(a.kind+"/"+a.name, b.kind+"/"+b.name) })
	return out, nil
}

// restartWorkload patches w's pod template with the restart annotations
// unless it already carries marker; true when it patched.
func (r *RecordingReconciler) restartWorkload(ctx context.Context, ns string, w workload, marker string) (bool, error) {
	var obj client.Object
	var tmpl func() *corev1.PodTemplateSpec
	switch w.kind {
	case "Deployment":
		d := &appsv1.Deployment{}
		obj, tmpl = d, func() *corev1.PodTemplateSpec { return &d.Spec.Template }
	case "StatefulSet":
		s := &appsv1.StatefulSet{}
		obj, tmpl = s, func() *corev1.PodTemplateSpec { return &s.Spec.Template }
	default:
		ds := &appsv1.DaemonSet{}
		obj, tmpl = ds, func() *corev1.PodTemplateSpec { return &ds.Spec.Template }
	}
	if err := r.reader().Get(ctx, client.ObjectKey{Namespace: ns, Name: w.name}, obj); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return false, nil
		}
		return false, fmt.Errorf("read %s %s/%s: %w", w.kind, ns, w.name, err)
	}
	if tmpl().Annotations[AnnotationRestartedFor] == marker {
		return false, nil
	}
	patch := client.MergeFrom(obj.DeepCopyObject().(client.Object))
	t := tmpl()
	if t.Annotations == nil {
		t.Annotations = map[string]string{}
	}
	t.Annotations[AnnotationRestartedAt] = r.now().UTC().Format("2006-01-02T15:04:05Z07:00")
	t.Annotations[AnnotationRestartedFor] = marker
	if err := r.Patch(ctx, obj, patch); err != nil {
		return false, fmt.Errorf("restart %s %s/%s: %w", w.kind, ns, w.name, err)
	}
	return true, nil
}
