//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/test/nodeproc"
	"github.com/seccomp-operator/seccomp-operator/test/probepod"
)

// eventually polls cond every 250 ms until it holds or d passes.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); ; time.Sleep(250 * time.Millisecond) {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
	}
}

// denyMkdir allows everything but mkdir and mkdirat (EPERM).
func denyMkdir(name string) *v1alpha1.SeccompProfile { return probepod.DenyMkdir(name) }

// createProfile creates p and deletes it when the test ends.
func createProfile(t *testing.T, p *v1alpha1.SeccompProfile) {
	t.Helper()
	if err := k8s.Create(context.Background(), p); err != nil {
		t.Fatalf("create profile %s: %v", p.Name, err)
	}
	t.Cleanup(func() { _ = client.IgnoreNotFound(k8s.Delete(context.Background(), p)) })
}

// waitInstalled waits until the profile is Installed on the node and
// returns its node file.
func waitInstalled(t *testing.T, name string, d time.Duration) string {
	t.Helper()
	var p v1alpha1.SeccompProfile
	eventually(t, d, "profile "+name+" Installed", func() bool {
		if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &p); err != nil {
			return false
		}
		c := meta.FindStatusCondition(p.Status.Conditions, "Installed")
		return c != nil && c.Status == metav1.ConditionTrue && c.ObservedGeneration == p.Generation
	})
	file := filepath.Join(kubeletRoot, "seccomp", "operator", name+".json")
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("profile %s Installed but its file: %v", name, err)
	}
	return file
}

// probePod returns a pod running the probe under localhost profile path.
func probePod(name, localhost string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: ptr.To[int64](1),
			Containers: []corev1.Container{{
				Name: "probe", Image: probeImage, ImagePullPolicy: corev1.PullIfNotPresent,
				SecurityContext: &corev1.SecurityContext{
					AllowPrivilegeEscalation: ptr.To(false),
					SeccompProfile: &corev1.SeccompProfile{
						Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: ptr.To(localhost),
					},
				},
			}},
		},
	}
}

// startPod creates pod, deletes it when the test ends, and waits until it
// runs; it returns the container's host PID.
func startPod(t *testing.T, pod *corev1.Pod) int {
	t.Helper()
	ctx := context.Background()
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	t.Cleanup(func() { deletePod(t, pod.Namespace, pod.Name) })
	eventually(t, 90*time.Second, "pod "+pod.Name+" Running", func() bool {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return false
		}
		return pod.Status.Phase == corev1.PodRunning && len(pod.Status.ContainerStatuses) > 0 &&
			pod.Status.ContainerStatuses[0].Ready
	})
	return containerPID(t, pod.Status.ContainerStatuses[0].ContainerID)
}

// deletePod deletes a pod at once and waits until it is gone.
func deletePod(t *testing.T, namespace, name string) {
	t.Helper()
	ctx := context.Background()
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}}
	if err := k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)); err != nil && !apierrors.IsNotFound(err) {
		t.Errorf("delete pod %s: %v", name, err)
		return
	}
	eventually(t, 60*time.Second, "pod "+name+" gone", func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod))
	})
}

// containerPID is the host PID of a CRI container ID.
func containerPID(t *testing.T, cid string) int {
	t.Helper()
	pid, err := nodeproc.ContainerPID(cid)
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

// seccompMode returns the Seccomp: field of /proc/PID/status (2 = filter).
func seccompMode(t *testing.T, pid int) string {
	t.Helper()
	return procStatusField(t, pid, "Seccomp")
}

func procStatusField(t *testing.T, pid int, field string) string {
	t.Helper()
	v, err := nodeproc.StatusField(pid, field)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// execProbe runs the probe inside the pod's container through the kubelet
// (kubectl exec) and returns its trimmed output.
func execProbe(t *testing.T, pod string, args ...string) string {
	t.Helper()
	out, err := tryExecProbe(pod, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// execProbeIn is execProbe for a pod outside the suite's namespace.
func execProbeIn(t *testing.T, namespace, pod string, args ...string) string {
	t.Helper()
	out, err := tryExecProbeIn(namespace, pod, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tryExecProbe is execProbe that returns the failure of the exec itself.
func tryExecProbe(pod string, args ...string) (string, error) {
	return tryExecProbeIn(ns, pod, args...)
}

func tryExecProbeIn(namespace, pod string, args ...string) (string, error) {
	cmd := exec.Command(kubectl, append([]string{"--kubeconfig", kubeconfig, "-n", namespace, "exec", pod, "--", "/probe"}, args...)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	// The probe exits 1 for a denied syscall and prints which; other
	// failures (exec itself) leave stdout empty.
	if err := cmd.Run(); err != nil && out.Len() == 0 {
		return "", fmt.Errorf("kubectl exec %s /probe %v: %w\n%s", pod, args, err, errOut.String())
	}
	return strings.TrimSpace(out.String()), nil
}

// nodeFile reports whether the node has the file.
func nodeFile(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
