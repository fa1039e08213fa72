package runtimeflags

import (
	"bytes"
	"debug/buildinfo"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// refusal is runc's answer to any flag before 1.2.0; the binary holds the
// text, and runc 1.2.0 dropped it when it learned the flags.
const refusal = "seccomp flags are not yet supported by runc"

// crunFlag is a flag name crun compares the profile's flags with (it parses
// them by name); a crun binary without it predates flags.
const crunFlag = "SECCOMP_FILTER_FLAG_LOG"

// runcModule is the main package path of every runc build, Debian's too.
const runcModule = "github.com/opencontainers/runc"

// DefaultBinaries are where the agent's DaemonSet shows the runtimes the
// host may have: it mounts the host's /usr read-only at /host/usr.
var DefaultBinaries = []string{
	"/host/usr/local/sbin/runc", "/host/usr/local/bin/runc", "/host/usr/sbin/runc", "/host/usr/bin/runc",
	"/host/usr/local/bin/crun", "/host/usr/bin/crun",
}

// Detect classifies the runtime binaries among paths that exist. A node may
// run pods with any of them (a RuntimeClass picks the handler), so a profile
// is safe there only if all of them accept flags: the weakest answer wins
// (unsupported, then unknown). No binary found is unknown.
func Detect(paths []string) Detection {
	var how []string
	worst := Supported
	for _, p := range paths {
		s, why, err := classifyFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			s, why = Unknown, err.Error()
		}
		how = append(how, p+": "+why)
		if rank(s) < rank(worst) {
			worst = s
		}
	}
	if len(how) == 0 {
		return Detection{Support: Unknown, How: "no runtime binary at " + strings.Join(paths, ", ")}
	}
	return Detection{Support: worst, How: strings.Join(how, "; ")}
}

func rank(s Support) int {
	switch s {
	case Unsupported:
		return 0
	case Unknown:
		return 1
	}
	return 2
}

// classifyFile says what the runtime binary at p does with flags, and why
// the agent thinks so. The binary is read, never run: the agent's image has
// nothing it could run with, and Debian's runc is linked against the host's
// libraries.
func classifyFile(p string) (Support, string, error) {
	f, err := os.Open(p)
	if err != nil {
		return Unknown, "", err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Unknown, "", err
	}
	if !st.Mode().IsRegular() {
		return Unknown, "not a regular file", nil
	}
	refuses, err := contains(f, refusal, 64<<10)
	if err != nil {
		return Unknown, "", fmt.Errorf("read %s: %w", p, err)
	}
	if refuses {
		return Unsupported, fmt.Sprintf("runc before %s (its binary holds the refusal %q)", FirstRunc, refusal), nil
	}
	if bi, err := buildinfo.Read(f); err == nil && bi.Path == runcModule {
		return Supported, fmt.Sprintf("runc %s or later (built with %s, without the refusal of flags)", FirstRunc, bi.GoVersion), nil
	}
	if filepath.Base(p) == "crun" {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return Unknown, "", err
		}
		names, err := contains(f, crunFlag, 64<<10)
		if err != nil {
			return Unknown, "", fmt.Errorf("read %s: %w", p, err)
		}
		if names {
			return Supported, "crun that parses seccomp flags", nil
		}
		return Unknown, "crun that names no seccomp flag", nil
	}
	return Unknown, "neither runc nor crun", nil
}

// contains reports whether r's content holds needle, reading chunk bytes at
// a time (a runtime binary is megabytes; the agent's memory is not) and
// keeping the last len(needle)-1 bytes so a match across two reads is seen.
func contains(r io.Reader, needle string, chunk int) (bool, error) {
	if needle == "" {
		return true, nil
	}
	keep := len(needle) - 1
	buf := make([]byte, keep+max(chunk, 1))
	have := 0 // bytes of buf in use
	for {
		n, err := r.Read(buf[have:])
		have += n
		if bytes.Contains(buf[:have], []byte(needle)) {
			return true, nil
		}
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		if have > keep {
			copy(buf, buf[have-keep:have])
			have = keep
		}
	}
}
