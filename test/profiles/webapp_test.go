//go:build proof

package profiles

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestWebappNginx: Debian's nginx, master as root with workers as www-data,
// serving static files (small and sendfile-sized, gzip on) under wrk load.
func TestWebappNginx(t *testing.T) {
	requireRoot(t)
	for _, m := range modes() {
		t.Run(string(m), func(t *testing.T) {
			nginxLoad(t, workload{m: m, profile: "webapp"})
		})
	}
}

// nginxLoad runs the workload of TestWebappNginx as w says and returns the
// requests/s on the small file.
func nginxLoad(t *testing.T, w workload) float64 {
	nginx := need(t, "/usr/sbin/nginx", "nginx-light")
	wrk := need(t, "wrk", "wrk")
	curl := need(t, "curl", "curl")
	dir := workDir(t, "")
	www := filepath.Join(dir, "www")
	if err := os.MkdirAll(www, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(www, "index.html"), []byte("<html><body>hello</body></html>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big := make([]byte, 256<<10)
	rand.Read(big)
	if err := os.WriteFile(filepath.Join(www, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	conf := filepath.Join(dir, "nginx.conf")
	pidFile := filepath.Join(dir, "nginx.pid")
	errLog := filepath.Join(dir, "error.log")
	// Debian's settings (user www-data, sendfile, tcp_nopush, gzip) with
	// every path in the temp dir.
	cfg := fmt.Sprintf(`user www-data;
worker_processes 2;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  keepalive_timeout 65;
  gzip on;
  access_log %[1]s/access.log;
  client_body_temp_path %[1]s/body;
  proxy_temp_path %[1]s/proxy;
  fastcgi_temp_path %[1]s/fastcgi;
  uwsgi_temp_path %[1]s/uwsgi;
  scgi_temp_path %[1]s/scgi;
  server {
    listen %[2]s;
    root %[1]s/www;
  }
}
`, dir, addr)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	report := w.report(t, dir, "nginx")
	srv := startServer(t, "nginx", filepath.Join(dir, "server.log"),
		confine(t, w.m, w.profileOf("nginx"), "", report, nginx, "-p", dir, "-c", conf, "-e", errLog, "-g", "daemon off;"))
	srv.waitTCP(t, addr)

	if code := strings.TrimSpace(run(t, curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://"+addr+"/index.html")); code != "200" {
		t.Fatalf("GET /index.html: HTTP %s", code)
	}
	small := 0.0 // requests/s of the small file: the syscall-bound case
	for _, path := range []string{"/index.html", "/big.bin"} {
		out := run(t, wrk, "-t2", "-c16", "-d3s", "-H", "Accept-Encoding: gzip", "http://"+addr+path)
		res := parseWrk(t, out)
		t.Logf("webapp/%s nginx %s: %d requests, %.0f requests/s", w.m, path, res.requests, res.rps)
		if path == "/index.html" {
			small = res.rps
		}
		if res.requests == 0 || res.non2xx != 0 || res.socketErrors != 0 {
			t.Errorf("wrk %s: %d requests, %d non-2xx, %d socket errors\n%s", path, res.requests, res.non2xx, res.socketErrors, out)
		}
	}

	// Graceful stop through the master, as systemd does.
	pid, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
	if err := syscall.Kill(p, syscall.SIGQUIT); err != nil {
		t.Fatalf("signal nginx master %d: %v", p, err)
	}
	if err := srv.wait(t, 30*time.Second); err != nil {
		t.Errorf("nginx exited with %v\n%s", err, tail(srv.log))
	}
	if bad := grepLines(errLog, "[alert]", "[emerg]", "[crit]", "not permitted"); len(bad) != 0 {
		t.Errorf("nginx error log:\n%s", strings.Join(bad, "\n"))
	}
	w.check(t, "nginx", report, true)
	return small
}

type wrkResult struct {
	requests, non2xx, socketErrors int
	rps                            float64
}

var (
	wrkRequests = regexp.MustCompile(`(\d+) requests in `)
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([\d.]+)`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

func parseWrk(t *testing.T, out string) wrkResult {
	t.Helper()
	var r wrkResult
	m := wrkRequests.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("wrk output without a request count:\n%s", out)
	}
	r.requests, _ = strconv.Atoi(m[1])
	if m := wrkRPS.FindStringSubmatch(out); m != nil {
		r.rps, _ = strconv.ParseFloat(m[1], 64)
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		r.non2xx, _ = strconv.Atoi(m[1])
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.Atoi(s)
			r.socketErrors += n
		}
	}
	return r
}
