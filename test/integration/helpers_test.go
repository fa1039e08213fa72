//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// eventually polls cond until it holds or 20 s pass.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin polls cond until it holds or d passes.
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

// warningRecorder collects the apiserver's warning headers (admission
// warnings, Pod Security violations of a namespace's warn level); set it as
// a rest.Config's WarningHandler.
type warningRecorder struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningRecorder) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// warningClient is a client of the package's apiserver (cfg) whose
// warnings land in the returned recorder.
func warningClient(t *testing.T) (client.Client, *warningRecorder) {
	t.Helper()
	w := &warningRecorder{}
	c := rest.CopyConfig(cfg)
	c.WarningHandler = w
	cl, err := client.New(c, client.Options{Scheme: k8s.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return cl, w
}

// take returns the warnings so far and forgets them.
func (w *warningRecorder) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	m := w.msgs
	w.msgs = nil
	return m
}

// auditLog is the audit log of the apiserver the package's k8s client talks
// to (fallbackCluster.use swaps it with the client).
var auditLog string

// withAudit makes the apiserver write an audit log of pod requests, at
// Metadata level (which carries the admission annotations), into dir, and
// returns its path.
func withAudit(api *envtest.APIServer, dir string) (string, error) {
	policy := filepath.Join(dir, "audit-policy.yaml")
	if err := os.WriteFile(policy, []byte(`apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  resources: [{group: "", resources: ["pods"]}]
- level: None
`), 0o644); err != nil {
		return "", err
	}
	log := filepath.Join(dir, "audit.log")
	api.Configure().Set("audit-policy-file", policy).Set("audit-log-path", log)
	return log, nil
}

// auditAnnotated calls create (a pod create in namespace ns) until the audit
// log holds one with an annotation whose value contains msg (admission
// policies load asynchronously), and returns the annotation's key.
func auditAnnotated(t *testing.T, ns, msg string, create func()) string {
	t.Helper()
	var key string
	var seen []map[string]string
	t.Cleanup(func() {
		if key == "" {
			t.Logf("annotations of the pod creates audited in %s: %v", ns, seen)
		}
	})
	eventually(t, "an audit annotation in "+ns+" saying "+msg, func() bool {
		create()
		seen = nil
		data, err := os.ReadFile(auditLog)
		if err != nil {
			return false
		}
		for _, line := range bytes.Split(data, []byte("\n")) {
			var ev struct {
				Verb      string `json:"verb"`
				ObjectRef struct {
					Resource, Namespace string
				} `json:"objectRef"`
				Annotations map[string]string `json:"annotations"`
			}
			if json.Unmarshal(line, &ev) != nil || ev.Verb != "create" || ev.ObjectRef.Resource != "pods" || ev.ObjectRef.Namespace != ns {
				continue
			}
			seen = append(seen, ev.Annotations)
			for k, v := range ev.Annotations {
				if strings.Contains(v, msg) {
					key = k
					return true
				}
			}
		}
		return false
	})
	return key
}
