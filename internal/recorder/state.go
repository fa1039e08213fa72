package recorder

import (
	"context"
	"encoding/json"

	"k8s.io/apimachinery/pkg/api/equality"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// NodeState is the node's SeccompNodeStatus as the shared informer has it,
// and the write the recorder makes (nodekube.Node).
type NodeState interface {
	NodeState() *v1alpha1.SeccompNodeStatus
	PatchNodeState(ctx context.Context, mergePatch []byte) (string, error)
}

// statePatch returns the merge patch that brings cur's recordings and
// recorder state to the wanted ones (and nothing else of the node state),
// nil when they are equal: no write.
func statePatch(cur *v1alpha1.NodeState, recs []v1alpha1.NodeRecording, rec *v1alpha1.NodeRecorder) ([]byte, error) {
	status := map[string]any{}
	if !equality.Semantic.DeepEqual(normal(cur.Recordings), normal(recs)) {
		if len(recs) == 0 {
			status["recordings"] = nil // a merge patch's null removes the field
		} else {
			status["recordings"] = recs
		}
	}
	if !equality.Semantic.DeepEqual(cur.Recorder, rec) {
		status["recorder"] = recorderPatch(rec)
	}
	if len(status) == 0 {
		return nil, nil
	}
	return json.Marshal(map[string]any{"status": status})
}

// normal makes an empty list and a missing one equal.
func normal(rs []v1alpha1.NodeRecording) []v1alpha1.NodeRecording {
	if len(rs) == 0 {
		return nil
	}
	return rs
}

// recorderPatch is rec as a merge patch: its optional fields that are zero
// are null, so that a message the recorder no longer has (or a count back
// at zero) is removed rather than left as it was.
func recorderPatch(rec *v1alpha1.NodeRecorder) map[string]any {
	orNull := func(zero bool, v any) any {
		if zero {
			return nil
		}
		return v
	}
	return map[string]any{"attached": rec.Attached, "lost": orNull(rec.Lost == 0, rec.Lost),
		"dropped": orNull(rec.Dropped == 0, rec.Dropped), "message": orNull(rec.Message == "", rec.Message)}
}
