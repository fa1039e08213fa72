package workloads

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Deploy creates the workload's Service and Deployment, or updates the
// Deployment's spec when it exists (a changed profile rolls the pods).
func Deploy(ctx context.Context, c client.Client, w *Workload) error {
	if err := c.Create(ctx, w.Service()); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service %s/%s: %w", w.Namespace, w.Name, err)
	}
	want := w.Deployment()
	err := c.Create(ctx, want)
	if !apierrors.IsAlreadyExists(err) {
		if err != nil {
			return fmt.Errorf("create deployment %s/%s: %w", w.Namespace, w.Name, err)
		}
		return nil
	}
	var have appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKeyFromObject(want), &have); err != nil {
		return fmt.Errorf("get deployment %s/%s: %w", w.Namespace, w.Name, err)
	}
	have.Spec = want.Spec
	if err := c.Update(ctx, &have); err != nil {
		return fmt.Errorf("update deployment %s/%s: %w", w.Namespace, w.Name, err)
	}
	return nil
}

// Remove deletes the Deployment (its pods in the foreground) and the
// Service, and waits until no pod of the workload is left.
func Remove(ctx context.Context, c client.Client, w *Workload) error {
	fg := metav1.DeletePropagationForeground
	if err := c.Delete(ctx, w.Deployment(), &client.DeleteOptions{PropagationPolicy: &fg}); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete deployment %s/%s: %w", w.Namespace, w.Name, err)
	}
	if err := c.Delete(ctx, w.Service()); client.IgnoreNotFound(err) != nil {
		return fmt.Errorf("delete service %s/%s: %w", w.Namespace, w.Name, err)
	}
	return poll(ctx, 90*time.Second, "pods of "+w.Name+" gone", func() (bool, error) {
		pods, err := Pods(ctx, c, w)
		return len(pods) == 0, err
	})
}

// Pods lists the workload's pods.
func Pods(ctx context.Context, c client.Client, w *Workload) ([]corev1.Pod, error) {
	var list corev1.PodList
	if err := c.List(ctx, &list, client.InNamespace(w.Namespace), client.MatchingLabels(w.Labels())); err != nil {
		return nil, fmt.Errorf("list pods of %s/%s: %w", w.Namespace, w.Name, err)
	}
	return list.Items, nil
}

// WaitReady waits until the Deployment's current generation has all its
// replicas ready and no pod of an older one is left, then until the
// Service answers, and returns the pods. A pod whose container keeps
// failing ends the wait early with its state.
func WaitReady(ctx context.Context, c client.Client, w *Workload, timeout time.Duration) ([]corev1.Pod, error) {
	deadline := time.Now().Add(timeout)
	var pods []corev1.Pod
	err := poll(ctx, timeout, "deployment "+w.Namespace+"/"+w.Name+" ready", func() (bool, error) {
		var d appsv1.Deployment
		if err := c.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: w.Name}, &d); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		var err error
		if pods, err = Pods(ctx, c, w); err != nil {
			return false, err
		}
		for _, p := range pods {
			for _, s := range p.Status.ContainerStatuses {
				if s.RestartCount > 2 {
					return false, fmt.Errorf("pod %s: container %s restarted %d times (last: %s)", p.Name, s.Name, s.RestartCount, lastState(s))
				}
			}
		}
		want := ptrValue(d.Spec.Replicas)
		s := d.Status
		return s.ObservedGeneration >= d.Generation && s.UpdatedReplicas == want && s.ReadyReplicas == want &&
			s.Replicas == want && int32(len(pods)) == want, nil
	})
	if err != nil {
		return pods, err
	}
	// Ready pods are not yet a reachable Service: until kube-proxy's next
	// sync a new Service's ClusterIP refuses connections (its rule for a
	// Service without endpoints). The harness runs on make up's node, whose
	// path to the ClusterIP kube-proxy programs in the same sync as the
	// pods'.
	addr, err := Addr(ctx, c, w)
	if err != nil {
		return pods, err
	}
	return pods, poll(ctx, time.Until(deadline), "service "+addr+" of "+w.Name+" answering", func() (bool, error) {
		conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			return false, nil
		}
		return true, conn.Close()
	})
}

func lastState(s corev1.ContainerStatus) string {
	if t := s.LastTerminationState.Terminated; t != nil {
		return fmt.Sprintf("exit %d %s %s", t.ExitCode, t.Reason, strings.TrimSpace(t.Message))
	}
	if w := s.State.Waiting; w != nil {
		return w.Reason + " " + w.Message
	}
	return "unknown"
}

func ptrValue(p *int32) int32 {
	if p == nil {
		return 1
	}
	return *p
}

// Addr is host:port of the workload's Service (its ClusterIP: make up runs
// no cluster DNS).
func Addr(ctx context.Context, c client.Client, w *Workload) (string, error) {
	var svc corev1.Service
	if err := c.Get(ctx, client.ObjectKey{Namespace: w.Namespace, Name: w.Name}, &svc); err != nil {
		return "", fmt.Errorf("service of %s/%s: %w", w.Namespace, w.Name, err)
	}
	if svc.Spec.ClusterIP == "" || svc.Spec.ClusterIP == corev1.ClusterIPNone {
		return "", fmt.Errorf("service %s/%s has no cluster IP", w.Namespace, w.Name)
	}
	return fmt.Sprintf("%s:%d", svc.Spec.ClusterIP, w.port), nil
}

// Loader runs the load clients inside a load pod through the kubelet
// (kubectl exec), as the e2e suite runs its probe.
type Loader struct {
	Kubectl, Kubeconfig string
	Namespace, Pod      string
}

// StartLoader creates the load pod in ns (LoadPod) unless it exists, and
// waits until it runs.
func StartLoader(ctx context.Context, c client.Client, kubectl, kubeconfig, ns string) (*Loader, error) {
	pod := LoadPod(ns)
	if err := c.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		return nil, fmt.Errorf("create load pod: %w", err)
	}
	err := poll(ctx, 90*time.Second, "load pod running", func() (bool, error) {
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), pod); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return pod.Status.Phase == corev1.PodRunning, nil
	})
	if err != nil {
		return nil, err
	}
	return &Loader{Kubectl: kubectl, Kubeconfig: kubeconfig, Namespace: ns, Pod: pod.Name}, nil
}

// Stop deletes the load pod.
func (l *Loader) Stop(ctx context.Context, c client.Client) error {
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: l.Namespace, Name: l.Pod}}
	return client.IgnoreNotFound(c.Delete(ctx, pod, client.GracePeriodSeconds(0)))
}

// Exec runs argv in the load pod under coreutils' timeout (limit), so that
// a hanging client ends even if this exec is cut, and returns its stdout
// and stderr together: the clients print errors on either.
func (l *Loader) Exec(ctx context.Context, limit time.Duration, argv ...string) (string, error) {
	args := []string{"--kubeconfig", l.Kubeconfig, "-n", l.Namespace, "exec", l.Pod, "-c", "load", "--",
		"timeout", fmt.Sprintf("%ds", int(limit.Seconds())+1)}
	ctx, cancel := context.WithTimeout(ctx, limit+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.Kubectl, append(args, argv...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if err != nil {
		return out.String(), fmt.Errorf("%s in the load pod: %w\n%s", strings.Join(argv, " "), err, out.String())
	}
	return out.String(), nil
}

// poll calls cond every 500 ms until it holds, fails, or timeout passes.
func poll(ctx context.Context, timeout time.Duration, what string, cond func() (bool, error)) error {
	deadline := time.Now().Add(timeout)
	for {
		ok, err := cond()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s", timeout, what)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
