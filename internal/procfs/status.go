package procfs

import (
	"bytes"
	"fmt"
	"strconv"
)

// SeccompMode is the kernel's seccomp mode of a process ("Seccomp:" in
// /proc/<pid>/status).
type SeccompMode int

const (
	SeccompDisabled SeccompMode = 0
	SeccompStrict   SeccompMode = 1
	SeccompFilter   SeccompMode = 2
)

func (m SeccompMode) String() string {
	switch m {
	case SeccompDisabled:
		return "disabled"
	case SeccompStrict:
		return "strict"
	case SeccompFilter:
		return "filter"
	}
	return "mode " + strconv.Itoa(int(m))
}

// ProcStatus is what the node roles read of /proc/<pid>/status.
type ProcStatus struct {
	// Name is the command name (comm).
	Name string
	// Seccomp is the process's seccomp mode.
	Seccomp SeccompMode
	// SeccompFilters is the number of filters attached (stacked), or -1 on
	// kernels before 5.9, which have no "Seccomp_filters:" line.
	SeccompFilters int
	// NoNewPrivs is the no_new_privs bit: set by runc before it loads a
	// filter as an unprivileged process, and by allowPrivilegeEscalation: false.
	NoNewPrivs bool
}

// Status reads the seccomp state of <root>/<pid>/status.
func Status(root string, pid int) (ProcStatus, error) {
	b := getBuf()
	defer putBuf(b)
	n, err := readFile(procPath(root, pid, "status"), *b)
	if err != nil {
		return ProcStatus{}, err
	}
	st, err := parseStatus((*b)[:n])
	if err != nil {
		return ProcStatus{}, fmt.Errorf("%s: %w", procPath(root, pid, "status"), err)
	}
	return st, nil
}

// parseStatus reads the lines Status needs; a status without a "Seccomp:"
// line (a kernel without CONFIG_SECCOMP) is an error, as a mode we cannot
// read must not pass for "disabled".
func parseStatus(b []byte) (ProcStatus, error) {
	st := ProcStatus{SeccompFilters: -1}
	seen := false
	for len(b) > 0 {
		line := b
		if i := bytes.IndexByte(b, '\n'); i >= 0 {
			line, b = b[:i], b[i+1:]
		} else {
			b = nil
		}
		key, val, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		val = bytes.TrimSpace(val)
		switch string(key) {
		case "Name":
			st.Name = string(val)
		case "Seccomp":
			n, err := atoi(val)
			if err != nil {
				return ProcStatus{}, fmt.Errorf("Seccomp: %q", val)
			}
			st.Seccomp, seen = SeccompMode(n), true
		case "Seccomp_filters":
			n, err := atoi(val)
			if err != nil {
				return ProcStatus{}, fmt.Errorf("Seccomp_filters: %q", val)
			}
			st.SeccompFilters = n
		case "NoNewPrivs":
			st.NoNewPrivs = string(val) == "1"
		}
	}
	if !seen {
		return ProcStatus{}, fmt.Errorf("no Seccomp: line")
	}
	return st, nil
}

// atoi parses a small non-negative decimal without allocating.
func atoi(b []byte) (int, error) {
	if len(b) == 0 || len(b) > 9 {
		return 0, strconv.ErrSyntax
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, strconv.ErrSyntax
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// parseStartTime reads the start time (field 22, clock ticks after boot)
// from the content of /proc/<pid>/stat. The command name may hold spaces
// and parentheses, so the fields are counted after its last ")".
func parseStartTime(b []byte) (uint64, bool) {
	r := bytes.LastIndexByte(b, ')')
	if r < 0 {
		return 0, false
	}
	b = b[r+1:]
	// After ")": state is field 3, so start time is the 20th field.
	for f := 0; f < 20; f++ {
		b = bytes.TrimLeft(b, " ")
		end := bytes.IndexByte(b, ' ')
		if end < 0 {
			end = len(b)
		}
		if f == 19 {
			v := bytes.TrimRight(b[:end], "\n")
			if len(v) == 0 || len(v) > 19 {
				return 0, false
			}
			var n uint64
			for _, c := range v {
				if c < '0' || c > '9' {
					return 0, false
				}
				n = n*10 + uint64(c-'0')
			}
			return n, true
		}
		if end == len(b) {
			return 0, false
		}
		b = b[end:]
	}
	return 0, false
}
