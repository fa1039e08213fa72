package workloads

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Load runs the workload's client in the load pod against its Service for
// about d and returns what the client measured. An error means the load
// could not be measured (no output to read); errors the client counted
// (failed requests, aborted clients) are in Result.Errors, since a test
// asserts on them and a report shows them.
func (w *Workload) Load(ctx context.Context, c client.Client, l *Loader, d time.Duration) (Result, error) {
	addr, err := Addr(ctx, c, w)
	if err != nil {
		return Result{}, err
	}
	host, port, _ := net.SplitHostPort(addr)
	var r Result
	switch w.Name {
	case "nginx":
		r, err = wrk(ctx, l, addr, d)
	case "postgres":
		r, err = pgbench(ctx, l, host, port, d)
	case "redis":
		r, err = redisBenchmark(ctx, l, host, port, d)
	default:
		return Result{}, fmt.Errorf("workload %q has no load", w.Name)
	}
	r.Workload = w.Name
	return r, err
}

func seconds(d time.Duration) string {
	return strconv.Itoa(max(1, int(d.Round(time.Second).Seconds())))
}

// wrk: 2 threads, 16 connections for d.
func wrk(ctx context.Context, l *Loader, addr string, d time.Duration) (Result, error) {
	out, execErr := l.Exec(ctx, d+10*time.Second, "wrk", "-t2", "-c16", "-d"+seconds(d)+"s", "--timeout", "5s", "http://"+addr+"/")
	return parsed(ParseWrk, out, execErr)
}

// pgbench: the TPC-B-like tables at scale 1 (retried while the server is
// still starting: its port opens before it takes sessions), then 4 clients
// on 2 threads for d.
func pgbench(ctx context.Context, l *Loader, host, port string, d time.Duration) (Result, error) {
	conn := []string{"pgbench", "-h", host, "-p", port, "-U", "postgres"}
	var initErr error
	for deadline := time.Now().Add(60 * time.Second); ; {
		if _, initErr = l.Exec(ctx, 60*time.Second, append(conn, "-i", "-s", "1", "-q", "postgres")...); initErr == nil {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return Result{Tool: "pgbench"}, fmt.Errorf("pgbench -i: %w", initErr)
		}
		time.Sleep(2 * time.Second)
	}
	out, execErr := l.Exec(ctx, d+30*time.Second, append(conn, "-c", "4", "-j", "2", "-T", seconds(d), "postgres")...)
	return parsed(ParsePgbench, out, execErr)
}

// The commands redis-benchmark runs each round.
var redisCommands = []string{"set", "get", "incr", "lpush", "lpop"}

const redisRequests = 20000

// redisBenchmark: redis-benchmark counts requests, not time, so it runs in
// rounds of 20000 requests per command (20 connections) until d has
// passed; Commands are the rounds' mean requests/s per command.
func redisBenchmark(ctx context.Context, l *Loader, host, port string, d time.Duration) (Result, error) {
	total := Result{Tool: "redis-benchmark", Unit: "requests/s", Commands: map[string]float64{}}
	rounds := 0
	for start := time.Now(); rounds == 0 || time.Since(start) < d; {
		rounds++
		out, execErr := l.Exec(ctx, d+60*time.Second, "redis-benchmark", "-h", host, "-p", port, "-c", "20",
			"-n", strconv.Itoa(redisRequests), "-t", strings.Join(redisCommands, ","), "--csv")
		r, err := parsed(ParseRedisBenchmark, out, execErr)
		total.Output += out
		if err != nil {
			return total, err
		}
		for cmd, rps := range r.Commands {
			total.Commands[cmd] += rps
		}
		total.Done += int64(redisRequests * len(r.Commands))
		for kind, n := range r.Failures {
			total.fail(kind, n)
		}
		if r.Errors > 0 {
			break // redis-benchmark stops at the first error; so does the load
		}
	}
	var sum float64
	for cmd := range total.Commands {
		total.Commands[cmd] /= float64(rounds)
		sum += total.Commands[cmd]
	}
	if len(total.Commands) > 0 {
		total.Rate = sum / float64(len(total.Commands))
	}
	return total, nil
}

// parsed reads a client's output. A client that exits non-zero after
// reporting (pgbench when a client aborted, redis-benchmark at an error
// reply) yields its report with the errors counted; one that printed no
// report yields the exec error.
func parsed(parse func(string) (Result, error), out string, execErr error) (Result, error) {
	r, err := parse(out)
	if err != nil {
		if execErr != nil {
			return r, execErr
		}
		return r, err
	}
	if execErr != nil && r.Errors == 0 {
		r.fail("client-exit", 1)
	}
	return r, nil
}
