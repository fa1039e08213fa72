//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

const operatorNS = "seccomp-operator"

// managerReplicas is what config/manager deploys.
const managerReplicas = 2

// The manager's and the agent's pods are deleted in the middle of a rollout
// of 20 profiles: their replacements pick up where they stopped and every
// profile ends up installed on the node with its current content.
func TestOperatorPodsRestartedMidRollout(t *testing.T) {
	ctx := context.Background()
	prefix := "e2e-rollout-" + rand.String(4) + "-"
	const n = 20
	for i := 0; i < n; i++ {
		p := denyMkdir(fmt.Sprintf("%s%02d", prefix, i))
		createProfile(t, p)
		if i == n/2 {
			// Half created: both operator pods go away at once.
			for _, sel := range []string{"seccomp-operator-manager", "seccomp-operator-agent"} {
				if err := k8s.DeleteAllOf(ctx, &corev1.Pod{}, client.InNamespace(operatorNS),
					client.MatchingLabels{"app.kubernetes.io/name": sel}, client.GracePeriodSeconds(0)); err != nil {
					t.Fatalf("delete %s pods: %v", sel, err)
				}
			}
		}
	}
	waitOperatorReady(t)
	for i := 0; i < n; i++ {
		waitInstalled(t, fmt.Sprintf("%s%02d", prefix, i), 120*time.Second)
	}
	// The node state agrees: one entry per profile, Installed, with the
	// hash the manager expects.
	var st v1alpha1.SeccompNodeStatus
	if err := k8s.Get(ctx, client.ObjectKey{Name: node}, &st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%s%02d", prefix, i)
		if e, ok := v1alpha1.FindNodeProfileState(st.Status.Profiles, name); !ok || e.State != v1alpha1.InstallStateInstalled {
			t.Errorf("node state for %s: %+v (found %v)", name, e, ok)
		}
	}
}

// waitOperatorReady waits until the manager Deployment and the agent
// DaemonSet have all their pods ready again.
func waitOperatorReady(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	eventually(t, 120*time.Second, "the operator's pods ready", func() bool {
		var d appsv1.Deployment
		var ds appsv1.DaemonSet
		if k8s.Get(ctx, client.ObjectKey{Namespace: operatorNS, Name: "seccomp-operator-manager"}, &d) != nil ||
			k8s.Get(ctx, client.ObjectKey{Namespace: operatorNS, Name: "seccomp-operator-agent"}, &ds) != nil {
			return false
		}
		want := ptr.Deref(d.Spec.Replicas, 1)
		return d.Status.ReadyReplicas == want && d.Status.UpdatedReplicas == want && d.Status.Replicas == want &&
			ds.Status.NumberReady == 1 && ds.Status.DesiredNumberScheduled == 1
	})
}

// The kubelet is restarted (SIGTERM, then make up's own start script):
// the running pod keeps its container and its filter, the node comes back
// Ready, and a pod created afterwards gets its profile too.
func TestKubeletRestartKeepsProfiles(t *testing.T) {
	ctx := context.Background()
	name := "e2e-kubelet-restart-" + rand.String(5)
	createProfile(t, denyMkdir(name))
	waitInstalled(t, name, 60*time.Second)
	pod := probePod(name+"-before", "operator/"+name+".json")
	pid := startPod(t, pod)
	cid := pod.Status.ContainerStatuses[0].ContainerID

	restartKubelet(t)

	if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "pod ready again after the kubelet restart", func() bool {
		return k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod) == nil &&
			len(pod.Status.ContainerStatuses) == 1 && pod.Status.ContainerStatuses[0].Ready
	})
	if got := pod.Status.ContainerStatuses[0].ContainerID; got != cid {
		t.Errorf("container replaced across the kubelet restart: %s → %s", cid, got)
	}
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("container process %d after the kubelet restart: Seccomp: %s", pid, got)
	}
	// The new kubelet serves exec for the pod once it has synced it.
	var got string
	eventually(t, 60*time.Second, "exec into the pod through the new kubelet", func() bool {
		var err error
		got, err = tryExecProbe(pod.Name, "mkdir", "/tmp/x")
		return err == nil
	})
	if got != "EPERM" {
		t.Errorf("mkdir after the kubelet restart: %q, want EPERM", got)
	}
	after := startPod(t, probePod(name+"-after", "operator/"+name+".json"))
	if got := seccompMode(t, after); got != "2" {
		t.Errorf("pod started after the kubelet restart: Seccomp: %s", got)
	}
}

// restartKubelet stops the kubelet the way a service manager would and
// starts it again with make up's command line (run/kubelet.sh), then waits
// until the node is Ready with a heartbeat newer than the restart.
func restartKubelet(t *testing.T) {
	t.Helper()
	pidFile := filepath.Join(upDir, "run", "kubelet.pid")
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("kubelet pid file (was the cluster started by make up?): %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatalf("stop kubelet %d: %v", pid, err)
	}
	eventually(t, 30*time.Second, "the old kubelet gone", func() bool { return syscall.Kill(pid, 0) != nil })
	if out, err := exec.Command("bash", filepath.Join(upDir, "run", "kubelet.sh")).CombinedOutput(); err != nil {
		t.Fatalf("start kubelet: %v\n%s", err, out)
	}
	eventually(t, 90*time.Second, "node Ready after the kubelet restart", func() bool {
		var n corev1.Node
		if k8s.Get(context.Background(), client.ObjectKey{Name: node}, &n) != nil {
			return false
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady {
				return c.Status == corev1.ConditionTrue && c.LastHeartbeatTime.After(restarted)
			}
		}
		return false
	})
}
