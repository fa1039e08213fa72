//go:build proof

package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const pgBin = "/usr/lib/postgresql/15/bin"

// TestDatabasePostgres: PostgreSQL 15's initdb and server, both under the
// profile as the postgres user (so seccompctl itself is unprivileged), with
// pgbench's initialisation and TPC-B-like load, a checkpoint, VACUUM and
// autovacuum (naptime 1s), then a fast shutdown.
func TestDatabasePostgres(t *testing.T) {
	requireRoot(t)
	for _, m := range modes() {
		t.Run(string(m), func(t *testing.T) {
			postgresLoad(t, workload{m: m, profile: "database"})
		})
	}
}

// postgresLoad runs the workload of TestDatabasePostgres as w says.
func postgresLoad(t *testing.T, w workload) float64 {
	initdb := need(t, pgBin+"/initdb", "postgresql-15")
	postgres := need(t, pgBin+"/postgres", "postgresql-15")
	pgctl := need(t, pgBin+"/pg_ctl", "postgresql-15")
	pgbench := need(t, pgBin+"/pgbench", "postgresql-contrib")
	psql := need(t, pgBin+"/psql", "postgresql-client-15")
	runuser := need(t, "runuser", "util-linux")
	dir := workDir(t, "postgres")
	data := filepath.Join(dir, "data")
	asPG := func(argv ...string) []string { return append([]string{runuser, "-u", "postgres", "--"}, argv...) }

	initReport := w.report(t, dir, "initdb")
	out := run(t, confine(t, w.m, w.profileOf("initdb"), "postgres", initReport,
		initdb, "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8")...)
	if !strings.Contains(out, "Success") {
		t.Fatalf("initdb:\n%s", out)
	}
	w.check(t, "initdb", initReport, true)

	port := freePort(t)
	report := w.report(t, dir, "postgres")
	srv := startServer(t, "postgres", filepath.Join(dir, "server.log"),
		confine(t, w.m, w.profileOf("postgres"), "postgres", report, postgres, "-D", data,
			"-k", dir, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
			"-c", "autovacuum_naptime=1", "-c", "checkpoint_timeout=30s",
			"-c", "log_checkpoints=on", "-c", "log_autovacuum_min_duration=0"))
	srv.waitTCP(t, fmt.Sprintf("127.0.0.1:%d", port))
	conn := []string{"-h", dir, "-p", strconv.Itoa(port), "-U", "postgres"}
	// The port opens before the server accepts sessions (a session then
	// gets "the database system is starting up"): its log says when it
	// does, without a connection attempt the log check below would see.
	srv.waitFor(t, "ready to accept connections", func() bool {
		return len(grepLines(srv.log, "ready to accept connections")) > 0
	})

	run(t, asPG(append(append([]string{pgbench}, conn...), "-i", "-s", "4", "postgres")...)...)
	out = run(t, asPG(append(append([]string{pgbench}, conn...), "-c", "4", "-j", "2", "-T", "5", "postgres")...)...)
	tps, failed := parsePgbench(t, out)
	t.Logf("database/%s postgres pgbench: tps %.0f, failed %d", w.m, tps, failed)
	if tps <= 0 || failed != 0 {
		t.Errorf("pgbench: tps %.1f, %d failed transactions\n%s", tps, failed, out)
	}
	run(t, asPG(append(append([]string{psql}, conn...), "-v", "ON_ERROR_STOP=1", "-c", "CHECKPOINT", "-c", "VACUUM ANALYZE pgbench_accounts", "postgres")...)...)
	// Give autovacuum's launcher and workers a few naptimes to run.
	time.Sleep(3 * time.Second)
	out = run(t, asPG(append(append([]string{psql}, conn...), "-tA", "-c", "SELECT count(*) FROM pgbench_history", "postgres")...)...)
	if n, _ := strconv.Atoi(strings.TrimSpace(out)); n == 0 {
		t.Errorf("pgbench_history is empty after the run: %q", out)
	}
	run(t, asPG(pgctl, "-D", data, "stop", "-m", "fast", "-w")...)
	if err := srv.wait(t, 60*time.Second); err != nil {
		t.Errorf("postgres exited with %v\n%s", err, tail(srv.log))
	}
	// A fast shutdown ends a running autovacuum worker with a FATAL line
	// of its own ("terminating autovacuum process due to administrator
	// command"): that one is the stop the test asked for.
	bad := slices.DeleteFunc(grepLines(srv.log, "PANIC", "FATAL", "not permitted", "could not fork"), func(l string) bool {
		return strings.Contains(l, "terminating autovacuum process due to administrator command")
	})
	if len(bad) != 0 {
		t.Errorf("postgres log:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(tail(srv.log), "checkpoint complete") {
		t.Errorf("postgres log shows no completed checkpoint:\n%s", tail(srv.log))
	}
	w.check(t, "postgres", report, true)
	return tps
}

var (
	pgTPS    = regexp.MustCompile(`tps = ([\d.]+)`)
	pgFailed = regexp.MustCompile(`number of failed transactions: (\d+)`)
)

func parsePgbench(t *testing.T, out string) (float64, int) {
	t.Helper()
	m := pgTPS.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pgbench output without tps:\n%s", out)
	}
	tps, _ := strconv.ParseFloat(m[1], 64)
	failed := 0
	if m := pgFailed.FindStringSubmatch(out); m != nil {
		failed, _ = strconv.Atoi(m[1])
	}
	return tps, failed
}

// TestDatabaseRedis: redis-server as the redis user with AOF on, under
// redis-benchmark, then BGSAVE and BGREWRITEAOF (forked children writing and
// fsyncing files), waited for until they report success.
func TestDatabaseRedis(t *testing.T) {
	requireRoot(t)
	for _, m := range modes() {
		t.Run(string(m), func(t *testing.T) {
			redisLoad(t, workload{m: m, profile: "database"})
		})
	}
}

// redisLoad runs the workload of TestDatabaseRedis as w says.
func redisLoad(t *testing.T, w workload) float64 {
	redis := need(t, "redis-server", "redis-server")
	bench := need(t, "redis-benchmark", "redis-tools")
	cli := need(t, "redis-cli", "redis-tools")
	dir := workDir(t, "redis")
	port := strconv.Itoa(freePort(t))
	report := w.report(t, dir, "redis")
	srv := startServer(t, "redis", filepath.Join(dir, "server.log"),
		confine(t, w.m, w.profileOf("redis"), "redis", report, redis, "--port", port, "--bind", "127.0.0.1",
			"--dir", dir, "--daemonize", "no", "--save", "", "--appendonly", "yes",
			"--appendfsync", "everysec", "--logfile", filepath.Join(dir, "redis.log")))
	srv.waitTCP(t, "127.0.0.1:"+port)

	out := run(t, bench, "-p", port, "-n", "20000", "-c", "20", "-r", "10000", "--csv", "-t", "set,get,incr,lpush,lpop,hset,sadd,mset")
	total := 0.0
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 2 || strings.Trim(f[0], `"`) == "test" {
			continue
		}
		rps, err := strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
		if err != nil || rps <= 0 {
			t.Errorf("redis-benchmark line %q: no positive requests/s", line)
		}
		t.Logf("database/%s redis-benchmark %s: %.0f requests/s", w.m, strings.Trim(f[0], `"`), rps)
		total += rps
	}
	if total == 0 {
		t.Fatalf("redis-benchmark reported nothing:\n%s", out)
	}
	for _, c := range []struct{ cmd, progress, status string }{
		{"BGSAVE", "rdb_bgsave_in_progress:0", "rdb_last_bgsave_status:ok"},
		{"BGREWRITEAOF", "aof_rewrite_in_progress:0", "aof_last_bgrewrite_status:ok"},
	} {
		time.Sleep(200 * time.Millisecond) // the previous child must be reaped before the next fork is allowed
		run(t, cli, "-p", port, c.cmd)
		srv.waitFor(t, c.cmd+" finished", func() bool {
			info := run(t, cli, "-p", port, "INFO", "persistence")
			return strings.Contains(info, c.progress) && strings.Contains(info, c.status)
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Errorf("BGSAVE left no dump.rdb: %v", err)
	}
	run(t, cli, "-p", port, "SHUTDOWN")
	if err := srv.wait(t, 30*time.Second); err != nil {
		t.Errorf("redis exited with %v\n%s", err, tail(filepath.Join(dir, "redis.log")))
	}
	if bad := grepLines(filepath.Join(dir, "redis.log"), "not permitted", "rror", "ailed", "Can't"); len(bad) != 0 {
		t.Errorf("redis log errors:\n%s", strings.Join(bad, "\n"))
	}
	w.check(t, "redis", report, true)
	return total
}
