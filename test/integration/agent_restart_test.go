//go:build integration

package integration

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// TestRolloutConvergesAcrossAPIServerRestart stops the apiserver while three
// agents are installing a batch of profiles and starts it again (same etcd,
// same certificates): the manager and the agents reconnect and converge, every
// file equal to its rendering and every profile Installed on every node.
func TestRolloutConvergesAcrossAPIServerRestart(t *testing.T) {
	ctx := context.Background()
	agents := []*testAgent{
		startAgent(t, cfg, "agent-r1", "x86_64"),
		startAgent(t, cfg, "agent-r2", "x86_64"),
		startAgent(t, cfg, "agent-r3", "x86_64"),
	}
	const n = 150
	var names []string
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		name := fmt.Sprintf("restart-%03d", i)
		names = append(names, name)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := k8s.Create(ctx, newProfile(name, "", allow("read", "write"), allow([]string{"openat", "close", "fstat"}[i%3]))); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, name := range names {
			_ = k8s.Delete(context.Background(), newProfile(name, ""))
		}
	})

	// The rollout is under way: stop the apiserver in the middle of it.
	apiserver := env.ControlPlane.APIServer
	if err := apiserver.Stop(); err != nil && !strings.Contains(err.Error(), "timeout waiting") {
		// A timeout means envtest killed it (SIGKILL): also a restart.
		t.Fatalf("stop apiserver: %v", err)
	}
	time.Sleep(3 * time.Second)
	if err := apiserver.Start(); err != nil {
		t.Fatalf("restart apiserver: %v", err)
	}
	t.Log("apiserver restarted")

	start := time.Now()
	deadline := time.Now().Add(90 * time.Second)
	for _, name := range names {
		for {
			var sp v1alpha1.SeccompProfile
			err := k8s.Get(ctx, types.NamespacedName{Name: name}, &sp)
			if err == nil && sp.Status.NodesInstalled == int32(len(agents)) && sp.Status.NodesTotal == int32(len(agents)) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s not installed on every node 90 s after the restart: %+v (err %v)", name, sp.Status, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		waitInstalled(t, name, agents...)
	}
	t.Logf("converged %v after the restart", time.Since(start).Round(time.Millisecond))
}
