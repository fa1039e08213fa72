package workloads

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// Result is what one load run measured: the throughput a benchmark
// compares and the errors a test asserts are zero.
type Result struct {
	Workload string
	// Tool is the client: wrk, pgbench or redis-benchmark.
	Tool string
	// Rate is the throughput in Unit (requests/s, transactions/s).
	Rate float64
	Unit string
	// Done counts the requests or transactions completed.
	Done int64
	// Errors is the sum of Failures: every failed request, transaction or
	// connection the client reported.
	Errors int64
	// Failures splits Errors by kind (non-2xx, socket-read, failed,
	// aborted, error-reply...), so a report says what went wrong.
	Failures map[string]int64
	// Commands holds redis-benchmark's requests/s per command.
	Commands map[string]float64
	// Output is the client's raw output, for the log of a failed test.
	Output string
}

func (r Result) String() string {
	s := fmt.Sprintf("%s/%s: %.0f %s, %d done, %d errors", r.Workload, r.Tool, r.Rate, r.Unit, r.Done, r.Errors)
	if r.Errors > 0 {
		s += fmt.Sprintf(" %v", r.Failures)
	}
	return s
}

func (r *Result) fail(kind string, n int64) {
	if n == 0 {
		return
	}
	if r.Failures == nil {
		r.Failures = map[string]int64{}
	}
	r.Failures[kind] += n
	r.Errors += n
}

var (
	wrkDone    = regexp.MustCompile(`(?m)^\s*(\d+) requests in `)
	wrkRate    = regexp.MustCompile(`(?m)^Requests/sec:\s+([0-9.]+)\s*$`)
	wrkSocket  = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
	wrkNon2xx  = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
	pgDone     = regexp.MustCompile(`(?m)^number of transactions actually processed: (\d+)`)
	pgFailed   = regexp.MustCompile(`(?m)^number of failed transactions: (\d+)`)
	pgTPS      = regexp.MustCompile(`(?m)^tps = ([0-9.]+) `)
	pgAborted  = regexp.MustCompile(`(?m)^pgbench: error: client \d+ (script \d+ )?aborted`)
	pgRunAbort = regexp.MustCompile(`(?m)Run was aborted`)
)

// ParseWrk reads wrk's report: requests/s, the requests done, and as
// errors the non-2xx/3xx responses and the socket errors (connect, read,
// write, timeout).
func ParseWrk(out string) (Result, error) {
	r := Result{Tool: "wrk", Unit: "requests/s", Output: out}
	var err error
	if r.Done, err = intField(wrkDone, out, "requests in"); err != nil {
		return r, err
	}
	if r.Rate, err = floatField(wrkRate, out, "Requests/sec"); err != nil {
		return r, err
	}
	if m := wrkSocket.FindStringSubmatch(out); m != nil {
		for i, kind := range []string{"socket-connect", "socket-read", "socket-write", "socket-timeout"} {
			n, err := strconv.ParseInt(m[i+1], 10, 64)
			if err != nil {
				return r, fmt.Errorf("wrk socket errors %q: %w", m[0], err)
			}
			r.fail(kind, n)
		}
	}
	if m := wrkNon2xx.FindStringSubmatch(out); m != nil {
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			return r, fmt.Errorf("wrk non-2xx %q: %w", m[0], err)
		}
		r.fail("non-2xx", n)
	}
	return r, nil
}

// ParsePgbench reads a pgbench run's report: tps (without the initial
// connection time), the transactions processed, and as errors the failed
// transactions and the clients that aborted (a run pgbench itself calls
// incomplete).
func ParsePgbench(out string) (Result, error) {
	r := Result{Tool: "pgbench", Unit: "transactions/s", Output: out}
	var err error
	if r.Done, err = intField(pgDone, out, "transactions actually processed"); err != nil {
		return r, err
	}
	if r.Rate, err = floatField(pgTPS, out, "tps"); err != nil {
		return r, err
	}
	failed, err := intField(pgFailed, out, "failed transactions")
	if err != nil {
		return r, err
	}
	r.fail("failed", failed)
	r.fail("aborted-client", int64(len(pgAborted.FindAllString(out, -1))))
	if pgRunAbort.MatchString(out) && r.Failures["aborted-client"] == 0 {
		r.fail("aborted-run", 1)
	}
	return r, nil
}

// ParseRedisBenchmark reads redis-benchmark's --csv report: requests/s per
// command, Rate their mean, and as errors every line the client prints
// about an error reply or a lost connection (redis-benchmark 7 stops at
// the first error reply).
func ParseRedisBenchmark(out string) (Result, error) {
	r := Result{Tool: "redis-benchmark", Unit: "requests/s", Output: out, Commands: map[string]float64{}}
	header := false
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
		case strings.HasPrefix(line, `"test",`):
			header = true
		case strings.HasPrefix(line, "Error"), strings.Contains(line, "Could not connect"),
			strings.Contains(line, "Connection reset"), strings.Contains(line, "Server closed the connection"):
			r.fail("error-reply-or-connection", 1)
		case header && strings.HasPrefix(line, `"`):
			f := strings.Split(line, ",")
			if len(f) < 2 {
				return r, fmt.Errorf("redis-benchmark line %q: want command,rps,...", line)
			}
			rps, err := strconv.ParseFloat(strings.Trim(f[1], `"`), 64)
			if err != nil || rps < 0 || math.IsNaN(rps) || math.IsInf(rps, 0) {
				return r, fmt.Errorf("redis-benchmark line %q: requests/s not a number >= 0 (%v)", line, err)
			}
			r.Commands[strings.Trim(f[0], `"`)] = rps
		}
	}
	if len(r.Commands) == 0 && r.Errors == 0 {
		return r, fmt.Errorf("redis-benchmark output has no results:\n%s", out)
	}
	var sum float64
	for _, v := range r.Commands {
		sum += v
	}
	if len(r.Commands) > 0 {
		r.Rate = sum / float64(len(r.Commands))
	}
	return r, nil
}

func intField(re *regexp.Regexp, out, what string) (int64, error) {
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %q in the output:\n%s", what, out)
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", m[0], err)
	}
	return n, nil
}

func floatField(re *regexp.Regexp, out, what string) (float64, error) {
	m := re.FindStringSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no %q in the output:\n%s", what, out)
	}
	f, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, fmt.Errorf("%q: %w", m[0], err)
	}
	return f, nil
}
