package cli

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// MaxInputBytes bounds every file (or stdin) seccompctl reads. The largest
// object the apiserver stores is 1.5 MiB (etcd's default request limit) and
// the runtimes' default profiles are a few tens of KiB, so 16 MiB is far
// above any real profile or policy, yet small enough that a wrong argument
// (/dev/zero, a disk image, an endless pipe) ends with an error instead of
// the memory of the machine.
const MaxInputBytes = 16 << 20

// stdinArg is the argument that names standard input.
const stdinArg = "-"

// errTooLarge is wrapped by readInput's error for input over MaxInputBytes.
var errTooLarge = errors.New("input too large")

// readInput reads the file name (or stdin for "-") up to MaxInputBytes.
// The error for a missing file wraps fs.ErrNotExist.
func readInput(name string, stdin io.Reader) ([]byte, error) {
	var r io.Reader
	if name == stdinArg {
		if stdin == nil {
			return nil, fmt.Errorf("read standard input: no standard input")
		}
		r = stdin
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	return readLimited(displayName(name), r)
}

// readLimited reads r to its end, failing once it has more than
// MaxInputBytes.
func readLimited(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxInputBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(data) > MaxInputBytes {
		return nil, fmt.Errorf("read %s: %w: more than %d bytes (%d MiB, seccompctl's limit for one file; profiles are far smaller): is it the file you meant?",
			name, errTooLarge, MaxInputBytes, MaxInputBytes>>20)
	}
	return data, nil
}

func displayName(name string) string {
	if name == stdinArg {
		return "standard input"
	}
	return name
}
