//go:build e2e

// Package e2e runs against the real single-node cluster of make up (kubelet,
// containerd, runc, the operator deployed from config/default) and checks
// what the kernel does, not only what the API says: the container process's
// Seccomp: line in /proc, the errno of a denied syscall inside the container,
// and the audit records of the kubelet and kube-proxy, which make up runs
// under their predefined profiles. It needs root on the node (it reads
// /proc and restarts the kubelet): run it with make test-e2e.
package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

const (
	// ns holds the suite's pods; baseline admits Localhost profiles.
	ns          = "seccomp-e2e"
	kubeletRoot = "/var/lib/kubelet"
	probeImage  = "seccomp-operator/e2e-probe:dev"
	// Audit login uids hack/up.sh gives the kubelet's and kube-proxy's trees.
	kubeletAUID   = 4242
	kubeProxyAUID = 4243
)

var (
	k8s        client.Client
	upDir      string // hack/up.sh's state: pid files, restart scripts, logs
	kubectl    string
	node       string
	kubeconfig string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	upDir = os.Getenv("UP_DIR")
	if upDir == "" {
		upDir = "/var/lib/seccomp-operator-up"
	}
	kc := os.Getenv("KUBECONFIG")
	if kc == "" {
		kc = filepath.Join(upDir, "admin.kubeconfig")
	}
	kubeconfig = kc
	// The client logs the apiserver's warnings (admission warnings).
	ctrllog.SetLogger(zap.New(zap.WriteTo(os.Stderr)))
	cfg, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no cluster (run make up first): %v\n", err)
		return 1
	}
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	if k8s, err = client.New(cfg, client.Options{Scheme: scheme}); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	if kubectl, err = filepath.Abs("../../bin/kubectl"); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	ctx := context.Background()
	var nodes corev1.NodeList
	if err := k8s.List(ctx, &nodes); err != nil || len(nodes.Items) != 1 {
		fmt.Fprintf(os.Stderr, "e2e: want the one node of make up: %v (%d nodes)\n", err, len(nodes.Items))
		return 1
	}
	node = nodes.Items[0].Name
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline",
	}}}
	if err := k8s.Create(ctx, nsObj); err != nil && !apierrors.IsAlreadyExists(err) {
		fmt.Fprintf(os.Stderr, "e2e: create namespace: %v\n", err)
		return 1
	}
	return m.Run()
}
