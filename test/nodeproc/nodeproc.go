// Package nodeproc reads what the node's kernel and containerd know of a
// container's processes, for the e2e suite and the cluster benchmark, which
// run on the node of make up as root: the host PID of a CRI container, a
// field of /proc/<pid>/status, a process's children.
package nodeproc

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ContainerPID asks containerd (namespace k8s.io, as the kubelet uses it)
// for the host PID of a CRI container ID ("containerd://<id>" or "<id>").
func ContainerPID(cid string) (int, error) {
	id := strings.TrimPrefix(cid, "containerd://")
	out, err := exec.Command("ctr", "-n", "k8s.io", "tasks", "ls").CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ctr tasks ls: %w\n%s", err, out)
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == id {
			pid, err := strconv.Atoi(f[1])
			if err != nil {
				return 0, fmt.Errorf("ctr tasks ls: pid %q of %s", f[1], id)
			}
			return pid, nil
		}
	}
	return 0, fmt.Errorf("no containerd task %s", id)
}

// StatusField returns a field of /proc/<pid>/status, trimmed ("Seccomp" →
// "2", "VmRSS" → "23456 kB").
func StatusField(pid int, field string) (string, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			return strings.TrimSpace(v), nil
		}
	}
	if err := s.Err(); err != nil {
		return "", err
	}
	return "", fmt.Errorf("/proc/%d/status has no %s", pid, field)
}

// StatusKiB returns a "<n> kB" field of /proc/<pid>/status (VmRSS, VmHWM)
// in KiB.
func StatusKiB(pid int, field string) (int64, error) {
	v, err := StatusField(pid, field)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(v, "kB")), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("/proc/%d/status %s: %q is not kB", pid, field, v)
	}
	return n, nil
}

// Children lists the PIDs whose parent is pid: each thread keeps its own
// list (a Go program forks from whichever thread it runs on).
func Children(pid int) ([]int, error) {
	files, err := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("process %d: no task children lists (%v)", pid, err)
	}
	var out []int
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			continue // the thread exited
		}
		for _, f := range strings.Fields(string(b)) {
			c, _ := strconv.Atoi(f)
			out = append(out, c)
		}
	}
	return out, nil
}

// Stat is what the benchmarks read of /proc/<pid>/stat.
type Stat struct {
	PPID int
	Comm string
	// CPU is the user + system time the process has used (utime + stime,
	// in USER_HZ = 100 ticks per second).
	CPU time.Duration
}

// ReadStat reads /proc/<pid>/stat. The command name may hold spaces and
// parentheses, so the fields are counted after its last ")".
func ReadStat(pid int) (Stat, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return Stat{}, err
	}
	s := string(b)
	open, r := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || r < open || r+2 > len(s) {
		return Stat{}, fmt.Errorf("/proc/%d/stat: no command name in %q", pid, s)
	}
	// After ")": state ppid ... utime (index 11) stime (index 12).
	f := strings.Fields(s[r+2:])
	if len(f) < 13 {
		return Stat{}, fmt.Errorf("/proc/%d/stat: %d fields after the command name", pid, len(f))
	}
	ppid, err1 := strconv.Atoi(f[1])
	ut, err2 := strconv.ParseInt(f[11], 10, 64)
	st, err3 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return Stat{}, fmt.Errorf("/proc/%d/stat: bad ppid, utime or stime in %q", pid, s)
	}
	return Stat{PPID: ppid, Comm: s[open+1 : r], CPU: time.Duration(ut+st) * time.Second / 100}, nil
}
