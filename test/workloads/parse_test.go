package workloads

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The reports of the real clients (Debian's wrk 4.1, pgbench 15, redis-
// benchmark 7.0) as captured in testdata.
func TestParse(t *testing.T) {
	for _, c := range []struct {
		file     string
		parse    func(string) (Result, error)
		rate     float64
		done     int64
		failures map[string]int64
	}{
		{"wrk-ok.txt", ParseWrk, 1323.64, 2651, nil},
		{"wrk-404.txt", ParseWrk, 1130.84, 1133, map[string]int64{"non-2xx": 1133}},
		{"wrk-socket-errors.txt", ParseWrk, 7780.52, 77812, map[string]int64{"socket-read": 3, "socket-write": 1, "socket-timeout": 2, "non-2xx": 5}},
		{"pg-run.txt", ParsePgbench, 1166.059517, 3505, nil},
		{"pg-aborted.txt", ParsePgbench, 1542.110175, 2335, map[string]int64{"aborted-client": 4}},
		{"redis-ok.txt", ParseRedisBenchmark, (59523.81 + 70422.53 + 81967.21 + 84745.77 + 78125.00) / 5, 0, nil},
		{"redis-error.txt", ParseRedisBenchmark, 59523.81, 0, map[string]int64{"error-reply-or-connection": 1}},
	} {
		t.Run(c.file, func(t *testing.T) {
			r, err := c.parse(readTestdata(t, c.file))
			if err != nil {
				t.Fatal(err)
			}
			if diff := r.Rate - c.rate; diff > 0.01 || diff < -0.01 {
				t.Errorf("rate %v, want %v", r.Rate, c.rate)
			}
			if r.Done != c.done {
				t.Errorf("done %d, want %d", r.Done, c.done)
			}
			var sum int64
			for kind, n := range c.failures {
				sum += n
				if r.Failures[kind] != n {
					t.Errorf("failures[%s] = %d, want %d (all: %v)", kind, r.Failures[kind], n, r.Failures)
				}
			}
			if r.Errors != sum || len(r.Failures) != len(c.failures) {
				t.Errorf("errors %d %v, want %d %v", r.Errors, r.Failures, sum, c.failures)
			}
		})
	}
}

// Output without a report (a client that could not connect) is an error,
// never a zero-error result.
func TestParseNoReport(t *testing.T) {
	for name, parse := range map[string]func(string) (Result, error){
		"wrk": ParseWrk, "pgbench": ParsePgbench, "redis-benchmark": ParseRedisBenchmark,
	} {
		for _, out := range []string{"", "unable to connect to 10.96.0.9:80 Connection refused\n",
			"pgbench: error: connection to server at \"10.96.0.9\", port 5432 failed: Connection refused\n"} {
			if r, err := parse(out); err == nil && r.Errors == 0 {
				t.Errorf("%s(%q): %+v and no error", name, out, r)
			}
		}
	}
}

// A refused connection in redis-benchmark's output is an error even next
// to results.
func TestParseRedisRefused(t *testing.T) {
	r, err := ParseRedisBenchmark(readTestdata(t, "redis-ok.txt") + "Could not connect to Redis at 10.96.0.9:6379: Connection refused\n")
	if err != nil || r.Errors != 1 {
		t.Errorf("%+v %v, want one error", r, err)
	}
}

func fuzzParser(f *testing.F, parse func(string) (Result, error), prefix string) {
	entries, err := os.ReadDir("testdata")
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			f.Add(readTestdata(f, e.Name()))
		}
	}
	f.Fuzz(func(t *testing.T, out string) {
		r, err := parse(out)
		if err == nil && (r.Errors < 0 || r.Rate < 0 || r.Done < 0) {
			t.Errorf("negative result %+v from %q", r, out)
		}
	})
}

func FuzzParseWrk(f *testing.F)            { fuzzParser(f, ParseWrk, "wrk-") }
func FuzzParsePgbench(f *testing.F)        { fuzzParser(f, ParsePgbench, "pg-") }
func FuzzParseRedisBenchmark(f *testing.F) { fuzzParser(f, ParseRedisBenchmark, "redis-") }
