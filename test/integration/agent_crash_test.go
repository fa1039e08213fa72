//go:build integration

package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/agent"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// buildAgent compiles cmd/agent for tests that need a real process to kill.
func buildAgent(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "agent")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/agent")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build agent: %v\n%s", err, out)
	}
	return bin
}

// adminKubeconfig writes the test apiserver's admin kubeconfig to a file,
// for the seccompctl commands the tests run.
func adminKubeconfig(t testing.TB) string {
	t.Helper()
	kc := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kc, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return kc
}

// kubeconfigFor writes a kubeconfig of a new admin user of the test's
// apiserver.
func kubeconfigFor(t *testing.T, name string) string {
	t.Helper()
	user, err := env.ControlPlane.AddUser(envtest.User{Name: name, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := user.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAgentKilledMidWriteNeverLeavesPartialFiles kills the agent process
// with SIGKILL, again and again, while it rewrites many profiles, and reads
// every profile file all the while: each read must be a complete profile.
// The root is on the test's temporary directory (a real disk, so every
// write is fsynced and slow enough to be caught in the middle).
func TestAgentKilledMidWriteNeverLeavesPartialFiles(t *testing.T) {
	ctx := context.Background()
	bin := buildAgent(t)
	kc := kubeconfigFor(t, "agent-crash")
	root := t.TempDir()
	const node, n, rounds = "agent-crash", 150, 12

	var names []string
	for i := range n {
		name := fmt.Sprintf("crash-%03d", i)
		names = append(names, name)
		create(t, newProfile(name, "", allow("read", "write", "close")))
	}
	t.Cleanup(func() {
		_ = k8s.Delete(context.Background(), &v1alpha1.SeccompNodeStatus{ObjectMeta: metav1.ObjectMeta{Name: node}})
	})

	// The reader: every file it can open must parse as a whole profile.
	var reads, bad atomic.Int64
	var badMu sync.Mutex
	var badSample string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		dir := filepath.Join(root, nodepath.SeccompDir, nodepath.OperatorDir)
		for {
			select {
			case <-stop:
				return
			default:
			}
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					continue // the agent's temporary files and marker
				}
				b, err := os.ReadFile(filepath.Join(dir, e.Name()))
				if err != nil {
					continue // removed between list and read
				}
				reads.Add(1)
				if _, _, err := profile.ParseStrict(b); err != nil || !json.Valid(b) {
					bad.Add(1)
					badMu.Lock()
					badSample = fmt.Sprintf("%s: %v: %q", e.Name(), err, b)
					badMu.Unlock()
				}
			}
		}
	}()

	run := func() *exec.Cmd {
		cmd := exec.Command(bin, "--node-name="+node, "--kubelet-root="+root,
			"--metrics-bind-address=0", "--health-probe-bind-address=0", "--resync-interval=2s")
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kc)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	rng := rand.New(rand.NewPCG(7, 11))
	midWrite := 0
	for round := range rounds {
		// New content for every profile, so the next agent has writing to do.
		extra := []string{"openat", "fstat", "lseek", "mmap", "munmap", "brk"}[round%6]
		for _, name := range names {
			if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				var sp v1alpha1.SeccompProfile
				if err := k8s.Get(ctx, types.NamespacedName{Name: name}, &sp); err != nil {
					return err
				}
				sp.Spec.Syscalls = []v1alpha1.SyscallRule{allow("read", "write", "close", extra)}
				return k8s.Update(ctx, &sp)
			}); err != nil {
				t.Fatal(err)
			}
		}
		cmd := run()
		if round%2 == 0 {
			// Kill as soon as a write is seen in flight.
			killWhenWriting(root, 5*time.Second)
		} else {
			time.Sleep(time.Duration(100+rng.IntN(900)) * time.Millisecond)
		}
		_ = cmd.Process.Signal(syscall.SIGKILL)
		_ = cmd.Wait()
		if tmp, _ := filepath.Glob(filepath.Join(root, nodepath.SeccompDir, "*", agent.TempPrefix+"*")); len(tmp) > 0 {
			midWrite++
		}
	}

	// A last agent that is left alone converges and cleans up.
	cmd := run()
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	a := &testAgent{node: node, root: root}
	for _, name := range names {
		waitInstalled(t, name, a)
	}
	close(stop)
	wg.Wait()
	if tmp, _ := filepath.Glob(filepath.Join(root, nodepath.SeccompDir, "*", agent.TempPrefix+"*")); len(tmp) > 0 {
		t.Errorf("temporary files left after convergence: %v", tmp)
	}
	t.Logf("%d rounds, %d killed in the middle of writing (temporary files left behind), %d reads of profile files", rounds, midWrite, reads.Load())
	if bad.Load() > 0 {
		t.Fatalf("%d reads saw a partial or corrupt file, e.g. %s", bad.Load(), badSample)
	}
	if reads.Load() < n {
		t.Fatalf("only %d reads: the reader did not observe the agent's files", reads.Load())
	}
}

// killWhenWriting returns as soon as a temporary file of the installer
// exists below root (a write is in flight), or after d.
func killWhenWriting(root string, d time.Duration) {
	dir := filepath.Join(root, nodepath.SeccompDir, nodepath.OperatorDir)
	for deadline := time.Now().Add(d); time.Now().Before(deadline); {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), agent.TempPrefix) {
				return
			}
		}
		time.Sleep(200 * time.Microsecond)
	}
}
