//go:build e2e

package e2e

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// A new profile reaches the node, a pod that references it runs, the kernel
// confines the container (Seccomp: 2) and the syscall the profile denies
// fails with EPERM inside it while others work.
func TestProfileEnforcedInPod(t *testing.T) {
	name := "e2e-deny-mkdir-" + rand.String(5)
	createProfile(t, denyMkdir(name))
	file := waitInstalled(t, name, 60*time.Second)

	pid := startPod(t, probePod(name, "operator/"+name+".json"))
	if got := seccompMode(t, pid); got != "2" {
		t.Errorf("container process %d: Seccomp: %s, want 2 (filter)", pid, got)
	}
	if got := execProbe(t, name, "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir inside the container: %q, want EPERM", got)
	}
	if got := execProbe(t, name, "seccomp"); got != "Seccomp: 2" {
		t.Errorf("probe's own status inside the container: %q, want Seccomp: 2", got)
	}
	// The file the kubelet read is the operator's rendering of the object.
	var p v1alpha1.SeccompProfile
	if err := k8s.Get(context.Background(), client.ObjectKey{Name: name}, &p); err != nil {
		t.Fatal(err)
	}
	onNode, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(onNode), `"mkdirat"`) || !strings.Contains(string(onNode), `"SCMP_ACT_ERRNO"`) {
		t.Errorf("node file %s lacks the rule:\n%s", file, onNode)
	}
}

// An update reaches the node and new pods get it while running ones keep
// the filter they started with; a deleted profile's file stays while a pod
// uses it and goes once none does.
func TestProfileUpdateAndDeferredRemoval(t *testing.T) {
	ctx := context.Background()
	name := "e2e-update-" + rand.String(5)
	p := denyMkdir(name)
	createProfile(t, p)
	file := waitInstalled(t, name, 60*time.Second)
	startPod(t, probePod(name+"-old", "operator/"+name+".json"))

	// Update: mkdir allowed again (the rule now denies only chroot).
	if err := k8s.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		t.Fatal(err)
	}
	p.Spec.Syscalls[0].Names = []string{"chroot"}
	if err := k8s.Update(ctx, p); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "the update on the node", func() bool {
		b, err := os.ReadFile(file)
		return err == nil && !strings.Contains(string(b), `"mkdirat"`) && strings.Contains(string(b), `"chroot"`)
	})
	waitInstalled(t, name, 60*time.Second)
	startPod(t, probePod(name+"-new", "operator/"+name+".json"))
	if got := execProbe(t, name+"-new", "mkdir", "/tmp/x"); got != "ok" {
		t.Errorf("mkdir in a pod started after the update: %q, want ok", got)
	}
	if got := execProbe(t, name+"-old", "mkdir", "/tmp/x"); got != "EPERM" {
		t.Errorf("mkdir in a pod started before the update: %q, want EPERM (the kernel keeps its filter)", got)
	}

	// Delete while two pods reference it: the file stays.
	if err := k8s.Delete(ctx, p); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Second) // several agent passes
	if !nodeFile(file) {
		t.Fatalf("%s removed while pods reference it", file)
	}
	deletePod(t, ns, name+"-old")
	time.Sleep(3 * time.Second)
	if !nodeFile(file) {
		t.Fatalf("%s removed while pod %s-new references it", file, name)
	}
	deletePod(t, ns, name+"-new")
	eventually(t, 60*time.Second, file+" removed after its last pod", func() bool { return !nodeFile(file) })
}

// A pod that references a profile the node does not have fails with an
// event that names the file, and stays Waiting with a reason: never a
// silent hang.
func TestMissingProfileFailsClearly(t *testing.T) {
	ctx := context.Background()
	name := "e2e-missing-" + rand.String(5)
	pod := probePod(name, "operator/"+name+".json")
	if err := k8s.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { deletePod(t, ns, name) })
	var msg string
	eventually(t, 60*time.Second, "an event for the missing profile", func() bool {
		var evs corev1.EventList
		if err := k8s.List(ctx, &evs, client.InNamespace(ns)); err != nil {
			return false
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.Name == name && e.Type == corev1.EventTypeWarning && strings.Contains(e.Message, name+".json") {
				msg = e.Reason + ": " + e.Message
				return true
			}
		}
		return false
	})
	t.Logf("event: %s", msg)
	// The pod's status says the same: Waiting with CreateContainerError and
	// the path, which kubectl get pods shows.
	var w *corev1.ContainerStateWaiting
	eventually(t, 30*time.Second, "container Waiting with the profile's path", func() bool {
		if err := k8s.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil || len(pod.Status.ContainerStatuses) == 0 {
			return false
		}
		w = pod.Status.ContainerStatuses[0].State.Waiting
		return w != nil && w.Reason == "CreateContainerError" && strings.Contains(w.Message, name+".json")
	})
	if pod.Status.Phase != corev1.PodPending {
		t.Errorf("pod phase %s, want Pending", pod.Status.Phase)
	}
}
