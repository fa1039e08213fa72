package runtimeflags

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

func writeBinary(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// buildFakeRunc builds a Go program whose main module is runc's, with or
// without the refusal text: what a runc 1.1 and a runc 1.2 look like to
// the detection.
func buildFakeRunc(t *testing.T, refuses bool) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build a fake runc")
	}
	dir := t.TempDir()
	msg := "flags are accepted"
	if refuses {
		msg = refusal
	}
	src := "package main\n\nimport \"fmt\"\n\nvar msg = \"" + msg + "\"\n\nfunc main() { fmt.Println(msg) }\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+runcModule+"\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "runc")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build fake runc: %v\n%s", err, b)
	}
	return out
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	oldRunc := buildFakeRunc(t, true)
	newRunc := buildFakeRunc(t, false)
	crun := writeBinary(t, dir, "crun", []byte("\x7fELF ... unknown seccomp option `%s` SECCOMP_FILTER_FLAG_LOG ..."))
	oldCrun := writeBinary(t, filepath.Join(t.TempDir()), "crun", []byte("\x7fELF no flags here"))
	other := writeBinary(t, dir, "kata-runtime", []byte("\x7fELF something else"))
	missing := filepath.Join(dir, "missing")

	for _, c := range []struct {
		name  string
		paths []string
		want  Support
		how   string
	}{
		{"runc 1.1", []string{missing, oldRunc}, Unsupported, "runc before 1.2.0"},
		{"runc 1.2 or later", []string{newRunc, missing}, Supported, "runc 1.2.0 or later"},
		{"crun", []string{crun}, Supported, "crun that parses"},
		{"old crun", []string{oldCrun}, Unknown, "names no seccomp flag"},
		{"something else", []string{other}, Unknown, "neither runc nor crun"},
		{"nothing there", []string{missing}, Unknown, "no runtime binary at " + missing},
		{"a directory", []string{dir}, Unknown, "not a regular file"},
		// A node with several runtimes: the weakest wins.
		{"new and old runc", []string{newRunc, oldRunc}, Unsupported, "runc before"},
		{"new runc and an unknown one", []string{newRunc, other}, Unknown, "neither"},
	} {
		d := Detect(c.paths)
		if d.Support != c.want || !strings.Contains(d.How, c.how) {
			t.Errorf("%s: Detect = %+v, want %s with %q", c.name, d, c.want, c.how)
		}
	}
}

// Debian 12's runc 1.1.5, where it is installed (this machine has it).
func TestDetectDebianRunc(t *testing.T) {
	const p = "/usr/sbin/runc"
	if _, err := os.Stat(p); err != nil {
		t.Skip("no ", p)
	}
	out, err := exec.Command(p, "--version").Output()
	if err != nil || !strings.HasPrefix(string(out), "runc version 1.1.") {
		t.Skipf("%s is not a runc 1.1: %q", p, out)
	}
	if d := Detect([]string{p}); d.Support != Unsupported {
		t.Fatalf("Detect(%s) = %+v, want unsupported", p, d)
	}
}

func TestContainsAcrossChunks(t *testing.T) {
	data := []byte(strings.Repeat("x", 100) + refusal + strings.Repeat("y", 100))
	for chunk := 1; chunk < len(data)+2; chunk++ {
		got, err := contains(iotest.OneByteReader(bytes.NewReader(data)), refusal, chunk)
		if err != nil || !got {
			t.Fatalf("chunk %d, one byte per read: %v, %v", chunk, got, err)
		}
		if got, _ := contains(bytes.NewReader(data), refusal, chunk); !got {
			t.Fatalf("chunk %d: not found", chunk)
		}
	}
	if got, _ := contains(bytes.NewReader(data[:100+len(refusal)-1]), refusal, 7); got {
		t.Fatal("found in a truncated copy")
	}
}

func FuzzContains(f *testing.F) {
	f.Add([]byte("abc seccomp flags are not yet supported by runc def"), "flags", 3)
	f.Add([]byte("aaaaab"), "aab", 1)
	f.Fuzz(func(t *testing.T, data []byte, needle string, chunk int) {
		if chunk < 0 || chunk > 1<<16 {
			return
		}
		got, err := contains(iotest.HalfReader(bytes.NewReader(data)), needle, chunk)
		if err != nil {
			t.Fatal(err)
		}
		if want := bytes.Contains(data, []byte(needle)); got != want {
			t.Fatalf("contains(%q, %q, %d) = %v, want %v", data, needle, chunk, got, want)
		}
	})
}

func TestParseSetting(t *testing.T) {
	for v, want := range map[string]Support{"supported": Supported, "unsupported": Unsupported} {
		if s, auto, err := ParseSetting(v); err != nil || auto || s != want {
			t.Errorf("ParseSetting(%q) = %v, %v, %v", v, s, auto, err)
		}
	}
	if _, auto, err := ParseSetting("auto"); err != nil || !auto {
		t.Errorf("ParseSetting(auto) = %v, %v", auto, err)
	}
	if _, _, err := ParseSetting("yes"); err == nil || !strings.Contains(err.Error(), "auto, supported or unsupported") {
		t.Errorf("ParseSetting(yes) = %v, want an error naming the values", err)
	}
}
