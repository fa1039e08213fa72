package agent

import (
	"fmt"
	"os"
)

// The installer's directory-changing and flushing calls go through these
// functions, and each reports what it did to traceOp once it succeeded. A
// crash must never lose a file the kubelet was told about nor publish a
// partial one, and that depends on their order (fsync a file before its
// rename, fsync a directory after an entry in it changed): a test records
// the order and checks it against a power-loss model, which no functional
// test can see (without a power cut every write survives, fsync or not).
//
// traceOp is nil outside tests. path is what the call changed or flushed;
// from is the other name of a rename or link.
var traceOp func(op, path, from string)

func trace(op, path, from string) {
	if traceOp != nil {
		traceOp(op, path, from)
	}
}

// fsyncFile flushes f's data to stable storage.
func fsyncFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	trace("fsync", f.Name(), "")
	return nil
}

// syncDir flushes dir's entries (creations, renames, removals in it).
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory for fsync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("fsync directory %s: %w", dir, err)
	}
	trace("fsyncdir", dir, "")
	return nil
}

func renameFile(from, to string) error {
	if err := os.Rename(from, to); err != nil {
		return err
	}
	trace("rename", to, from)
	return nil
}

// linkFile gives from's file the name to, and fails with fs.ErrExist when
// to exists: unlike rename it never replaces a file.
func linkFile(from, to string) error {
	if err := os.Link(from, to); err != nil {
		return err
	}
	trace("link", to, from)
	return nil
}

func removeFile(p string) error {
	if err := os.Remove(p); err != nil {
		return err
	}
	trace("remove", p, "")
	return nil
}

func mkdirOne(dir string) error {
	if err := os.Mkdir(dir, DirMode); err != nil {
		return err
	}
	trace("mkdir", dir, "")
	return nil
}
