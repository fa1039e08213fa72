// Package docs runs the commands the project's documentation gives, as
// written, so that none of them can go stale: every line of every fenced
// ```sh block of README.md, docs/*.md and design/*.md is a command. This
// file finds them and checks the runner's own tables against them (plain
// go test, no cluster); run_test.go (build tag docs, `make test-commands`)
// runs them on the make up cluster.
package docs

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// repoRoot is where the commands run: the paths in the docs are relative
// to the checkout's root.
const repoRoot = "../.."

// command is one line of a fenced sh block.
type command struct {
	file string // relative to the repository root
	line int
	text string // as written, without its trailing comment
	// env holds the block's and earlier blocks' `export` lines of the same
	// file: a reader who follows the file has run them.
	env []string
}

func (c command) String() string { return fmt.Sprintf("%s:%d: %s", c.file, c.line, c.text) }

// docFiles are the documents whose commands a user may copy, in the order
// a new user reads them (README first: it brings the cluster up).
func docFiles(t testing.TB) []string {
	t.Helper()
	files := []string{"README.md"}
	for _, dir := range []string{"docs", "design"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.md"))
		if err != nil {
			t.Fatal(err)
		}
		slices.Sort(m)
		for _, f := range m {
			rel, _ := filepath.Rel(repoRoot, f)
			files = append(files, rel)
		}
	}
	return files
}

var fenceRE = regexp.MustCompile("^```\\s*([A-Za-z0-9_-]*)\\s*$")

// commands returns every command of the fenced blocks of the doc files.
// A block must say what it holds: an unlabelled fence is an error, so a
// command cannot slip past the runner by missing its label.
func commands(t testing.TB) []command {
	t.Helper()
	var out []command
	for _, f := range docFiles(t) {
		cmds, err := parseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, cmds...)
	}
	return out
}

func parseFile(rel string) ([]command, error) {
	fh, err := os.Open(filepath.Join(repoRoot, rel))
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	var (
		out     []command
		env     []string
		inBlock bool
		lang    string
		pending string // a line continued with a backslash
		start   int
	)
	sc := bufio.NewScanner(fh)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := fenceRE.FindStringSubmatch(line); m != nil {
			if !inBlock {
				if m[1] == "" {
					return nil, fmt.Errorf("%s:%d: fenced block without a language: label it (sh for commands, which make test-commands runs; yaml, text, ...)", rel, n)
				}
				inBlock, lang = true, m[1]
				continue
			}
			if m[1] == "" {
				if pending != "" {
					return nil, fmt.Errorf("%s:%d: the block ends inside a continued line", rel, n)
				}
				inBlock = false
				continue
			}
		}
		if !inBlock || lang != "sh" {
			continue
		}
		text := strings.TrimSpace(stripComment(line))
		if pending == "" {
			start = n
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			pending += cont + " "
			continue
		}
		text, pending = strings.TrimSpace(pending+text), ""
		if text == "" {
			continue
		}
		if strings.HasPrefix(text, "export ") {
			env = append(env, text)
		}
		out = append(out, command{file: rel, line: start, text: text, env: slices.Clone(env)})
	}
	if inBlock {
		return nil, fmt.Errorf("%s: a fenced block is not closed", rel)
	}
	return out, sc.Err()
}

// stripComment cuts a shell comment: a # at the start of a word, outside
// quotes.
func stripComment(line string) string {
	var quote rune
	prev := ' '
	for i, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '\'' || r == '"':
			quote = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return line[:i]
		}
		prev = r
	}
	return line
}

// notRun are the commands CI does not run here, and why. Each must be a
// command of the docs (TestRunnerTables), so the list cannot go stale.
var notRun = map[string]string{
	"make test":     "the command CI runs (.ci/run): this runner is part of it",
	"make test-e2e": "make test runs it right before this runner, against the same cluster",
}

// servers run until stopped: CI checks that they start and keep running
// for serverGrace, then stops them.
var servers = map[string]bool{
	"bin/seccompctl run --profile webapp -- nginx -g 'daemon off;'": true,
}

// sizes are the flags and make variables that set how long a benchmark
// runs, with the environment variable that holds CI's short value
// (set by make test-commands): CI replaces any value the docs write.
var sizes = map[string]string{
	"tries": "TRIES", "nodes": "NODES", "profiles": "PROFILES", "pods": "PODS",
	"rates": "RATES", "duration": "DURATION", "idle": "IDLE",
	"fuzztime": "FUZZTIME", "benchtime": "BENCHTIME",
}

var sizeFlagRE, sizeVarRE = func() (*regexp.Regexp, *regexp.Regexp) {
	var flags, vars []string
	for f, v := range sizes {
		flags, vars = append(flags, f), append(vars, v)
	}
	return regexp.MustCompile(`(^|\s)-(` + strings.Join(flags, "|") + `)([ =])(\S+)`),
		regexp.MustCompile(`(^|\s)(` + strings.Join(vars, "|") + `)=(\S+)`)
}()

// shorten rewrites the sizes a command writes out to CI's values from
// getenv; a size without a CI value stays as written.
func shorten(text string, getenv func(string) string) string {
	text = sizeFlagRE.ReplaceAllStringFunc(text, func(m string) string {
		s := sizeFlagRE.FindStringSubmatch(m)
		if v := getenv(sizes[s[2]]); v != "" {
			return s[1] + "-" + s[2] + s[3] + v
		}
		return m
	})
	return sizeVarRE.ReplaceAllStringFunc(text, func(m string) string {
		s := sizeVarRE.FindStringSubmatch(m)
		if v := getenv(s[2]); v != "" {
			return s[1] + s[2] + "=" + v
		}
		return m
	})
}

// TestRunnerTables: the docs hold commands, each special case of the
// runner names one of them, and every `make X` the docs name in prose is a
// target of the Makefile.
func TestRunnerTables(t *testing.T) {
	cmds := commands(t)
	if len(cmds) < 20 {
		t.Fatalf("only %d commands found in the docs", len(cmds))
	}
	texts := map[string]bool{}
	for _, c := range cmds {
		texts[c.text] = true
	}
	for c := range notRun {
		if !texts[c] {
			t.Errorf("notRun names %q, which no doc gives: remove it", c)
		}
	}
	for c := range servers {
		if !texts[c] {
			t.Errorf("servers names %q, which no doc gives: remove it", c)
		}
	}
	for _, name := range sizes {
		if !strings.Contains(makefile(t), "${"+name+":-") && !strings.Contains(makefile(t), "$${"+name+":-") {
			t.Errorf("size %s is not a variable of the Makefile", name)
		}
	}
	targets := makeTargets(t)
	inline := regexp.MustCompile("`make ([a-z][a-z0-9-]*)")
	for _, f := range docFiles(t) {
		data, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inline.FindAllStringSubmatch(string(data), -1) {
			if !targets[m[1]] {
				t.Errorf("%s names `make %s`, which is not a target of the Makefile", f, m[1])
			}
		}
	}
	for _, c := range cmds {
		if f := strings.Fields(c.text); len(f) > 1 && f[0] == "make" && !targets[f[1]] {
			t.Errorf("%s: not a target of the Makefile", c)
		}
	}
}

func TestStripComment(t *testing.T) {
	for in, want := range map[string]string{
		"make up      # a cluster":                  "make up      ",
		"run -- nginx -g 'daemon off; # not this'":  "run -- nginx -g 'daemon off; # not this'",
		`echo "a # b" # c`:                          `echo "a # b" `,
		"# only a comment":                          "",
		"curl http://x/#frag":                       "curl http://x/#frag",
		"NODES=10 PROFILES=100 make bench-scale #x": "NODES=10 PROFILES=100 make bench-scale ",
	} {
		if got := stripComment(in); got != want {
			t.Errorf("stripComment(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestShorten(t *testing.T) {
	env := map[string]string{"PODS": "50", "NODES": "4", "PROFILES": "20", "TRIES": "2"}
	for in, want := range map[string]string{
		"go run ./bench/admission -pods 40000 -latencies /tmp/a": "go run ./bench/admission -pods 50 -latencies /tmp/a",
		"NODES=10 PROFILES=100 make bench-scale":                 "NODES=4 PROFILES=20 make bench-scale",
		"make bench-cluster TRIES=20":                            "make bench-cluster TRIES=2",
		"make bench-webhook RATES=1000":                          "make bench-webhook RATES=1000",
		"go run ./bench/scale -nodes=100":                        "go run ./bench/scale -nodes=4",
		"bin/seccompctl profiles":                                "bin/seccompctl profiles",
	} {
		if got := shorten(in, func(k string) string { return env[k] }); got != want {
			t.Errorf("shorten(%q) = %q, want %q", in, got, want)
		}
	}
}

func makefile(t testing.TB) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

var targetRE = regexp.MustCompile(`(?m)^([a-z][a-z0-9-]*):`)

func makeTargets(t testing.TB) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, m := range targetRE.FindAllStringSubmatch(makefile(t), -1) {
		out[m[1]] = true
	}
	return out
}
