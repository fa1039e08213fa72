package agent

import (
	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
)

// runtimeState is the node state's runtime: whether the node's container
// runtime takes seccomp flags and so whether the profiles carry the
// SECCOMP_FILTER_FLAG_LOG that makes the kernel audit their denials. It
// also sets the agent's denials-logged gauge.
func (r *NodeReconciler) runtimeState() *v1alpha1.NodeRuntime {
	logged := r.SeccompFlags.Takes()
	if logged {
		denialsLogged.Set(1)
	} else {
		denialsLogged.Set(0)
	}
	return &v1alpha1.NodeRuntime{
		SeccompFlags:  r.SeccompFlags.StatusValue(),
		DenialsLogged: logged,
		Message:       truncate(runtimeflags.DenialsMessage(r.SeccompFlags)),
		DryRunProfile: r.dryRun.aboutText(),
	}
}

func sameRuntimeState(a, b *v1alpha1.NodeRuntime) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}
