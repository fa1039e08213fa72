package agent

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// The dry-run profile: every node holds, at nodepath.DryRunPath, its own
// runtime default (its Node's containerRuntimeVersion, architecture and
// kernel) with every refusal turned into SCMP_ACT_LOG
// (seccompdefault.DryRunProfile). One path on every node, so that a
// SeccompPolicy defaulting namespaces to it dry-runs RuntimeDefault
// across the cluster: the enricher reports what each container logged
// (ContainerSeccompState.dryRun) and `seccompctl audit --seccomp-default`
// judges it (docs/seccomp-default.md, "Dry run").

// dryRunRefresh is how often the Node is read again (a runtime upgraded in
// place changes containerRuntimeVersion); dryRunRetry after a failed read.
const (
	dryRunRefresh = 10 * time.Minute
	dryRunRetry   = time.Minute
)

// dryRun is the node's dry-run profile as the last Node read gave it.
// Used under NodeReconciler.mu, but about, which the state writer reads.
type dryRun struct {
	next  time.Time // when to read the Node again
	key   string    // the node facts it was rendered for
	file  *File     // nil: none (about says why)
	about atomic.Pointer[string]
	// failed says why the last pass could not install it, nil when it did.
	failed atomic.Pointer[string]
}

// addDryRun adds the dry-run profile to the files a pass installs. The Node
// is read once per dryRunRefresh, not per pass; a failed read keeps the
// last profile (a pod using it must keep starting).
func (r *NodeReconciler) addDryRun(ctx context.Context, desired map[string]File) {
	d := &r.dryRun
	if now := time.Now(); !now.Before(d.next) {
		d.next = now.Add(dryRunRefresh)
		if err := r.renderDryRun(ctx); err != nil {
			d.next = now.Add(dryRunRetry)
			if d.file == nil {
				d.setAbout("not installed: " + err.Error())
			}
			r.Log.Info("cannot build the dry-run profile", "error", err.Error())
		}
	}
	if d.file != nil {
		desired[nodepath.DryRunPath] = *d.file
	}
}

// renderDryRun reads the Node and renders its dry-run profile when its
// facts changed.
func (r *NodeReconciler) renderDryRun(ctx context.Context) error {
	d := &r.dryRun
	node, err := r.Cluster.Node(ctx)
	if err != nil {
		return fmt.Errorf("read the Node: %w", err)
	}
	info := node.Status.NodeInfo
	key := info.ContainerRuntimeVersion + "|" + info.Architecture + "|" + info.KernelVersion
	if key == d.key && d.file != nil {
		return nil
	}
	t := seccompdefault.NodeTarget(node.Name, node, "")
	// The agent runs on the node: its family and kernel stand in for
	// what the Node does not say.
	content, about, err := seccompdefault.DryRunProfile(&t, r.Family, profile.DefaultEnv("").KernelVersion)
	if err != nil {
		return err
	}
	f := FileOf(content)
	d.key, d.file = key, &f
	d.setAbout(nodepath.DryRunPath + ": " + about)
	return nil
}

func (d *dryRun) setAbout(s string) { s = truncate(s); d.about.Store(&s) }

// synced records whether the pass installed it: a file of someone else's
// at the path (the installer leaves it alone) or a failed write.
func (d *dryRun) synced(res Result) {
	err := res.Failed[nodepath.DryRunPath]
	if err == nil {
		err = res.Foreign[nodepath.DryRunPath]
	}
	if err == nil {
		d.failed.Store(nil)
		return
	}
	s := "not installed: " + err.Error()
	d.failed.Store(&s)
}

// aboutText is what the node state's runtime says of the dry-run profile.
func (d *dryRun) aboutText() string {
	if p := d.failed.Load(); p != nil {
		return truncate(*p)
	}
	if p := d.about.Load(); p != nil {
		return *p
	}
	return ""
}
