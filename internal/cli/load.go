package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"runtime"
	"strings"

	"github.com/seccomp-operator/seccomp-operator/internal/profilefile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// readDocuments reads arg: a file ("-" for stdin) holding one or more
// profiles (see profilefile.Parse), or the name of a predefined profile. The
// error is for the input as a whole (unreadable, too large, empty); a
// document that is not a usable profile carries its own Err.
func readDocuments(arg string, stdin io.Reader) ([]profilefile.Document, error) {
	data, err := readInput(arg, stdin)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("read profile %s: %w", arg, err)
		}
		if p, ok := predefined.Get(arg); ok {
			return []profilefile.Document{{Name: p.Name, Src: &profilefile.Source{Name: p.Name, Profile: p.Profile.DeepCopy()}}}, nil
		}
		return nil, fmt.Errorf("unknown profile %q: not a file and not a predefined profile (%s)", arg, strings.Join(predefined.Names(), ", "))
	}
	return profilefile.Parse(displayName(arg), data)
}

// readProfile reads arg, which must hold exactly one profile: every command
// but validate works on one.
func readProfile(arg string, stdin io.Reader) (*profilefile.Source, error) {
	docs, err := readDocuments(arg, stdin)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("%s holds %d documents, and this command takes one profile: put each profile in its own file (`seccompctl validate %s` checks them all)",
			displayName(arg), len(docs), arg)
	}
	if docs[0].Err != nil {
		return nil, fmt.Errorf("%s: %w", docs[0].Name, docs[0].Err)
	}
	return docs[0].Src, nil
}

// loadProfile reads arg and resolves Docker's conditional rules for a
// default container on the host (Docker's default capabilities, this kernel).
func loadProfile(arg string, stdin io.Reader) (*profilefile.Source, error) {
	src, err := readProfile(arg, stdin)
	if err != nil {
		return nil, err
	}
	r, err := profile.Resolve(src.Profile, profile.DefaultEnv(hostArch()))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	src.Profile = r
	return src, nil
}

// hostArch is the native ABI name of this machine ("x86_64").
func hostArch() string {
	if a, ok := syscalls.Get(runtime.GOARCH); ok {
		return a.Name
	}
	return runtime.GOARCH
}
