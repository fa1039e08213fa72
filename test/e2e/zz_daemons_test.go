//go:build e2e

package e2e

// This file's name sorts last, so its test runs after every other one: it
// judges the node daemons over the whole suite.

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The kubelet and kube-proxy of make up run enforced by their predefined
// profiles (seccompctl run --log, so every denial is audited) and, over the
// cluster's start and the whole suite — pods started and deleted, exec,
// a kubelet restart, Services — not one syscall of theirs or of any program
// they ran was denied.
func TestNodeDaemonsConfinedWithoutDenials(t *testing.T) {
	for _, d := range []struct {
		name string
		auid int
	}{{"kubelet", kubeletAUID}, {"kube-proxy", kubeProxyAUID}} {
		pid := daemonPID(t, d.name)
		if got := seccompMode(t, pid); got != "2" {
			t.Errorf("%s (pid %d): Seccomp: %s, want 2", d.name, pid, got)
		}
		if got := procStatusField(t, pid, "NoNewPrivs"); got != "1" {
			t.Errorf("%s: NoNewPrivs %s", d.name, got)
		}
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/loginuid", pid))
		if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(d.auid) {
			t.Errorf("%s: loginuid %q (%v), want %d: its denials could not be told apart", d.name, b, err, d.auid)
		}
	}

	denials, err := seccompRecordsSinceUp()
	if err != nil {
		t.Fatal(err)
	}
	for _, auid := range []int{kubeletAUID, kubeProxyAUID} {
		for _, r := range denials[auid] {
			t.Errorf("denied under the node daemons' profiles: %s", r)
		}
	}
	t.Logf("seccomp audit records since make up: kubelet %d, kube-proxy %d", len(denials[kubeletAUID]), len(denials[kubeProxyAUID]))
}

// daemonPID returns the PID of the daemon itself: make up's pid file names
// seccompctl, which runs the daemon as its one child.
func daemonPID(t *testing.T, name string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(upDir, "run", name+".pid"))
	if err != nil {
		t.Fatal(err)
	}
	parent, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	kids := children(t, parent)
	if len(kids) != 1 {
		t.Fatalf("%s: seccompctl %d has children %v, want the daemon alone", name, parent, kids)
	}
	return kids[0]
}

// seccompRecordsSinceUp reads the kernel log from its start and returns the
// seccomp audit records (type=1326) logged after make up's last start
// marker, by the audit login uid of the process.
func seccompRecordsSinceUp() (map[int][]string, error) {
	f, err := os.OpenFile("/dev/kmsg", os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := f.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
		return nil, err
	}
	var out map[int][]string
	seen := false
	buf := make([]byte, 16<<10)
	for {
		n, err := f.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, syscall.EAGAIN) {
			break
		}
		if errors.Is(err, syscall.EPIPE) {
			continue // overwritten while read
		}
		if err != nil {
			return nil, err
		}
		rec := string(buf[:n])
		if strings.Contains(rec, "seccomp-operator-up: started") {
			out, seen = map[int][]string{}, true
			continue
		}
		if !seen || !strings.Contains(rec, "type=1326") {
			continue
		}
		for _, f := range strings.Fields(rec) {
			if v, ok := strings.CutPrefix(f, "auid="); ok {
				auid, _ := strconv.Atoi(v)
				out[auid] = append(out[auid], rec[strings.Index(rec, ";")+1:])
			}
		}
	}
	if !seen {
		return nil, errors.New("no make up start marker in the kernel log (was the cluster started by make up, and has the log wrapped?)")
	}
	return out, nil
}
