//go:build integration

package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/seccomp-operator/seccomp-operator/internal/metricsauth"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/internal/setup"
	"github.com/seccomp-operator/seccomp-operator/test/metricsreader"
)

// TestMetricsNeedAReader: the manager's metrics (served as cmd/manager
// serves them, setup.MetricsOptions) and the agent's (as cmd/agent does),
// each with its deployed RBAC, answer only a bearer token whose user may
// get /metrics: nothing to a request without a token, to a forged token or
// to a service account without the reader role.
func TestMetricsNeedAReader(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	reader, err := metricsreader.Client(ctx, kube, "../../"+metricsreader.RoleFile, "default", "metrics-test-reader")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kube.CoreV1().ServiceAccounts("default").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "metrics-test-nobody"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	nobodyToken, err := metricsreader.Token(ctx, kube, "default", "metrics-test-nobody")
	if err != nil {
		t.Fatal(err)
	}

	// The manager's endpoint, as the manager's service account.
	mcfg := impersonate(cfg, managerUser)
	hc, err := rest.HTTPClientFor(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	managerAddr := freeAddr(t)
	srv, err := metricsserver.NewServer(setup.MetricsOptions(managerAddr, "", false), mcfg, hc)
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Start(ctx) }()

	// The agent's, as the agent's service account.
	objs := kustRender(t, "agent")
	kustCreate(t, kustFind(t, objs, "ClusterRole", kustAgent))
	kustCreate(t, kustFind(t, objs, "ClusterRoleBinding", kustAgent))
	review, err := metricsauth.APIReview(impersonate(cfg, kustAgentUser))
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg, err := metricsauth.SelfSignedTLS("node-metrics")
	if err != nil {
		t.Fatal(err)
	}
	agentAddr := freeAddr(t)
	if err := nodekube.ServeTLS(ctx, agentAddr, metricsauth.Authorized(nodekube.MetricsHandler(), review), tlsCfg, make(chan error, 1)); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct{ name, addr, metric string }{
		{"manager", managerAddr, "rest_client_requests_total"},
		{"agent", agentAddr, "go_goroutines"},
	} {
		url := "https://" + c.addr + "/metrics"
		scrape := func(cl *http.Client) (int, string) {
			resp, err := cl.Get(url)
			if err != nil {
				return 0, err.Error()
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		// RBAC of freshly created roles takes a moment to reach the
		// authorizer: wait for the reader to get in.
		eventuallyWithin(t, 30*time.Second, c.name+" serves the reader", func() bool {
			code, _ := scrape(reader)
			return code == http.StatusOK
		})
		if code, body := scrape(reader); code != http.StatusOK || !strings.Contains(body, c.metric) {
			t.Errorf("%s, reader: %d, metrics have %s: %v", c.name, code, c.metric, strings.Contains(body, c.metric))
		}
		for _, d := range []struct {
			who  string
			cl   *http.Client
			want int
		}{
			{"no token", metricsreader.WithToken(""), http.StatusUnauthorized},
			{"forged token", metricsreader.WithToken("forged"), http.StatusUnauthorized},
			{"service account without the role", metricsreader.WithToken(nobodyToken), http.StatusForbidden},
		} {
			code, body := scrape(d.cl)
			if code != d.want || strings.Contains(body, c.metric) {
				t.Errorf("%s, %s: %d %q, want %d and no metrics", c.name, d.who, code, firstLine(body), d.want)
			}
		}
		// Plain HTTP gets nothing either.
		if resp, err := http.Get("http://" + c.addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), c.metric) {
				t.Errorf("%s serves metrics over plain HTTP", c.name)
			}
		}
	}
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
