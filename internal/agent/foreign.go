package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// Outside OperatorDir (the predefined aliases under profiles/kubernetes/)
// the seccomp root is shared with administrators, who may keep their own
// profiles at the very paths the operator installs to. Which files there are
// the installer's is what the marker says, and a path enters the marker only
// while no file is there: the installer claims a free path (marker first,
// then the file, created with link(2) so that a file appearing in between is
// never replaced) and otherwise leaves what it finds alone. So an
// administrator's file is neither overwritten nor, when the profile goes,
// removed, and once the administrator removes it the next pass installs the
// profile there (the file's directory is watched, so that is at once).
//
// A file of ours that someone replaces by hand stays ours (the marker lists
// it): that is drift, and it is repaired.

// ForeignFileError says that a path the installer would write holds a file
// it did not install and whose content differs from the profile's.
type ForeignFileError struct {
	Rel  string // relative to the seccomp root
	Path string // on the node
}

func (e *ForeignFileError) Error() string {
	return fmt.Sprintf("%s holds a file the agent did not install (an administrator's own?) and that differs from the profile; "+
		"the agent leaves it alone: remove or move it to have the profile installed there", e.Path)
}

// claim is what the installer may do at a path outside OperatorDir.
type claim int

const (
	claimReplace     claim = iota // its own file: replace it when it differs
	claimCreate                   // no file there: create one, never replacing
	claimForeignSame              // another's file with the very content: leave it
	claimForeign                  // another's file that differs: leave it, report it
)

// claimOf decides what the installer may do at rel, given whether the
// marker lists it (marked).
func (i *Installer) claimOf(rel string, f File, marked bool) (claim, error) {
	p := i.abs(rel)
	if _, err := os.Lstat(p); errors.Is(err, fs.ErrNotExist) {
		return claimCreate, nil
	} else if err != nil {
		return 0, fmt.Errorf("install %s: %w", rel, err)
	}
	if marked {
		return claimReplace, nil
	}
	same, err := hasContent(p, f)
	if err != nil {
		return 0, fmt.Errorf("install %s: %w", rel, err)
	}
	if same {
		return claimForeignSame, nil
	}
	return claimForeign, nil
}
