//go:build docs

package docs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverGrace is how long a server command must keep running.
const serverGrace = 5 * time.Second

// commandTimeout bounds one command: the longest, in their short mode, take
// a few minutes.
const commandTimeout = 20 * time.Minute

// apiWarningRE matches a warning the apiserver sent back, as kubectl,
// client-go's klog handler and controller-runtime print it: no command the
// docs give may provoke one.
var apiWarningRE = regexp.MustCompile(`(?m)^.*(^Warning: |warnings\.go:\d+\] |KubeAPIWarningLogger).*$`)

// TestDocCommands runs every command of the docs in order, each in bash
// from the repository root with its file's earlier exports, the sizes CI
// shortens replaced (make test-commands sets them). A command passes when
// it exits 0, prints no apiserver warning and leaves the checkout as it
// found it.
func TestDocCommands(t *testing.T) {
	if os.Getenv("KUBECONFIG") == "" {
		t.Fatal("KUBECONFIG is not set: run make test-commands (after make up)")
	}
	for _, c := range commands(t) {
		t.Run(strings.ReplaceAll(c.file, "/", "_")+":"+strconv.Itoa(c.line), func(t *testing.T) {
			if why, ok := notRun[c.text]; ok {
				t.Skipf("%s: not run here: %s", c.text, why)
			}
			text := shorten(c.text, os.Getenv)
			if text != c.text {
				t.Logf("%s (as written: %s)", text, c.text)
			} else {
				t.Log(text)
			}
			before := gitStatus(t)
			script := strings.Join(append(append([]string{"set -e -o pipefail"}, c.env...), text), "\n")
			start := time.Now()
			out, err := run(script, servers[c.text])
			t.Logf("%.1f s", time.Since(start).Seconds())
			keepOutput(t, out)
			if err != nil {
				t.Fatalf("%s: %v\n%s", c, err, tail(out, 60))
			}
			if w := apiWarningRE.FindAllString(out, -1); len(w) > 0 {
				t.Errorf("%s printed warnings:\n%s", c, strings.Join(w, "\n"))
			}
			if after := gitStatus(t); after != before {
				t.Errorf("%s changed the checkout (git status before:\n%s\nafter:\n%s)", c, before, after)
			}
			if testing.Verbose() {
				t.Logf("output (tail):\n%s", tail(out, 15))
			}
		})
	}
}

// run runs script in bash; a server must still be running after
// serverGrace, and is then stopped with its process group.
func run(script string, server bool) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), commandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script)
	cmd.Dir = repoRoot
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if !server {
		err := <-done
		return out.String(), err
	}
	select {
	case err := <-done:
		if err == nil {
			err = errors.New("the server exited")
		}
		return out.String(), err
	case <-time.After(serverGrace):
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	}
	return out.String(), nil
}

// keepOutput writes a command's whole output to _out/commands/ (the log
// shows only its tail), named as its subtest.
func keepOutput(t *testing.T, out string) {
	dir := filepath.Join(repoRoot, "_out", "commands")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "_", ":", "_").Replace(t.Name()) + ".log"
	if err := os.WriteFile(filepath.Join(dir, name), []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func gitStatus(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("git", "status", "--porcelain", "--untracked-files=all")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("git status: %v", err)
	}
	return string(out)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
