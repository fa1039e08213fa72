//go:build proof

package profiles

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// The recording proof (issue 26, `seccompctl record` on the host): each
// workload of the predefined-profile proofs runs plain, then twice under
// `seccompctl record`, then under the first recording in complain mode
// (no would-be denial allowed) and enforced, then under strace -f -c, the
// ground truth: a syscall strace saw that neither recording has is a
// missed one, and there must be none. The log (and RECORD_PROOF_DIR, when
// set, which keeps every profile, report and summary.md) gives the counts
// against the matching predefined profile, the two recordings' difference
// and the throughput plain vs recorded.

func TestRecordingHostNginx(t *testing.T) {
	recordingProof(t, "webapp", []string{"nginx"}, nginxLoad)
}

func TestRecordingHostPostgres(t *testing.T) {
	recordingProof(t, "database", []string{"initdb", "postgres"}, postgresLoad)
}

func TestRecordingHostRedis(t *testing.T) {
	recordingProof(t, "database", []string{"redis"}, redisLoad)
}

func recordingProof(t *testing.T, predefinedName string, programs []string, load func(*testing.T, workload) float64) {
	requireRoot(t)
	keep := os.Getenv("RECORD_PROOF_DIR")
	if keep == "" {
		keep = workDir(t, "")
	}
	keep = filepath.Join(keep, strings.TrimPrefix(t.Name(), "TestRecordingHost"))
	phase := func(m mode, name string, files func(string) string) float64 {
		dir := filepath.Join(keep, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// The servers' users (postgres, redis) write their reports here.
		os.Chmod(dir, 0o1777)
		var tp float64
		if !t.Run(name, func(t *testing.T) { tp = load(t, workload{m: m, files: files, keep: dir}) }) {
			t.FailNow()
		}
		return tp
	}
	recordedFile := func(run string) func(string) string {
		return func(p string) string { return filepath.Join(keep, run, p+".record.json") }
	}
	plainTP := phase(plain, "plain", nil)
	recTP := phase(recorded, "record1", nil)
	phase(recorded, "record2", nil)
	phase(complain, "complain", recordedFile("record1"))
	phase(enforce, "enforce", recordedFile("record1"))
	phase(traced, "strace", nil)

	pre, ok := predefined.Get(predefinedName)
	if !ok {
		t.Fatalf("no predefined profile %q", predefinedName)
	}
	preN := len(allowedNames(t, pre.Profile))
	var summary strings.Builder
	fmt.Fprintf(&summary, "| %s | throughput plain %.0f/s, recorded %.0f/s (%.3f×) |\n", strings.Join(programs, "+"), plainTP, recTP, recTP/plainTP)
	for _, p := range programs {
		r1 := allowedNames(t, readProfileFile(t, recordedFile("record1")(p)))
		r2 := allowedNames(t, readProfileFile(t, recordedFile("record2")(p)))
		only1, only2 := minus(r1, r2), minus(r2, r1)
		union := append(slices.Clone(r1), only2...)
		traced := straceNames(t, filepath.Join(keep, "strace", p+".strace.strace"))
		missed1, missed := minus(traced, r1), minus(traced, union)
		rep := readReport(t, filepath.Join(keep, "complain", p+".complain.json"))
		fmt.Fprintf(&summary, "| %s | recorded %d / %d syscalls (run 1 / run 2), predefined %s %d | only in run 1: %s; only in run 2: %s | strace %d, missed by run 1: %s, by both: %d | complain under run 1: %d would-be denials, exit %d |\n",
			p, len(r1), len(r2), predefinedName, preN, list(only1), list(only2), len(traced), list(missed1), len(missed), len(rep.Denied), rep.ExitCode)
		if len(missed) != 0 {
			t.Errorf("%s: strace saw syscalls neither recording has: %v", p, missed)
		}
		if len(rep.Denied) != 0 {
			t.Errorf("%s: %d would-be denials under its recorded profile: %+v", p, len(rep.Denied), rep.Denied)
		}
		if len(r1) >= preN {
			t.Errorf("%s: the recorded profile allows %d syscalls, not fewer than %s's %d", p, len(r1), predefinedName, preN)
		}
	}
	t.Logf("recording proof:\n%s", summary.String())
	f, err := os.OpenFile(filepath.Join(filepath.Dir(keep), "summary.md"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err == nil {
		f.WriteString(summary.String())
		f.Close()
	}
}

func readProfileFile(t *testing.T, path string) *profile.Profile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("recorded profile: %v", err)
	}
	p, err := profile.Parse(b)
	if err != nil {
		t.Fatalf("recorded profile %s: %v", path, err)
	}
	return p
}

// allowedNames returns the x86_64 syscalls some ALLOW rule of p names
// (conditionally or not), sorted: the size of what a profile lets through.
func allowedNames(t *testing.T, p *profile.Profile) []string {
	t.Helper()
	r, err := profile.Resolve(p, profile.DefaultEnv("x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	arch := syscalls.MustGet("x86_64")
	seen := map[string]bool{}
	for i := range r.Syscalls {
		if r.Syscalls[i].Action != profile.ActAllow {
			continue
		}
		for _, n := range r.Syscalls[i].AllNames() {
			if _, ok := arch.Lookup(n); ok {
				seen[n] = true
			}
		}
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// minus returns the names of a that b lacks.
func minus(a, b []string) []string {
	var out []string
	for _, n := range a {
		if !slices.Contains(b, n) {
			out = append(out, n)
		}
	}
	return out
}

func list(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, " ")
}
