//go:build proof

package profiles

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSystemNodeExporter: Debian's prometheus-node-exporter as the
// prometheus user with its default collectors, scraped repeatedly.
func TestSystemNodeExporter(t *testing.T) {
	requireRoot(t)
	exporter := need(t, "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter")
	curl := need(t, "curl", "curl")
	for _, m := range modes() {
		t.Run(string(m), func(t *testing.T) {
			dir := workDir(t, "prometheus")
			addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			report := reportFile(t, m, dir, "node-exporter")
			srv := startServer(t, "node-exporter", filepath.Join(dir, "server.log"),
				confine(t, m, "system", "prometheus", report, exporter, "--web.listen-address="+addr))
			srv.waitTCP(t, addr)
			const scrapes = 20
			start := time.Now()
			for i := 0; i < scrapes; i++ {
				out := run(t, curl, "-sf", "http://"+addr+"/metrics")
				for _, metric := range []string{"node_cpu_seconds_total", "node_filesystem_avail_bytes", "node_memory_MemAvailable_bytes", "node_network_receive_bytes_total", "node_load1", "node_timex_offset_seconds"} {
					if !strings.Contains(out, metric) {
						t.Fatalf("scrape %d: no %s in the metrics", i, metric)
					}
				}
				if strings.Contains(out, `node_scrape_collector_success{collector="cpu"} 0`) {
					t.Fatalf("scrape %d: the cpu collector failed", i)
				}
			}
			t.Logf("system/%s node-exporter: %d scrapes in %s", m, scrapes, time.Since(start).Round(time.Millisecond))
			// Stop the exporter itself (not the runuser / seccompctl around it).
			pid := findProcess(t, "prometheus-node", "--web.listen-address="+addr)
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			srv.wait(t, 30*time.Second) // exit status of a SIGTERM'd exporter is not meaningful
			if bad := grepLines(srv.log, "not permitted"); len(bad) != 0 {
				t.Errorf("node-exporter log:\n%s", strings.Join(bad, "\n"))
			}
			checkReport(t, m, "system", report, "node-exporter", false)
		})
	}
}
