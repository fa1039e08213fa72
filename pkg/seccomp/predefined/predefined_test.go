package predefined

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"testing/fstest"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// spec is the table of shared/spec/predefined-profiles.md: file names, the
// syscalls each class must allow (one or more per purpose the table names)
// and must deny.
var (
	modules = []string{"init_module", "finit_module", "delete_module"}
	kexec   = []string{"kexec_load", "kexec_file_load"}
	spec    = map[string]struct {
		file     string
		allow    []string
		deny     []string
		notAllow []string // class boundaries: neither allowed nor needed
	}{
		"kubelet": {
			file: "seccomp-kubelet-profile.json",
			// container management, process management incl. fork/execve/ptrace,
			// chroot and mounts, capget/capset, seccomp
			allow:    []string{"socket", "connect", "openat", "inotify_add_watch", "clone", "fork", "execve", "wait4", "kill", "ptrace", "chroot", "mount", "umount2", "capget", "capset", "seccomp"},
			deny:     concat(modules, []string{"reboot"}, kexec, []string{"bpf", "perf_event_open"}),
			notAllow: []string{"swapon", "open_by_handle_at", "settimeofday", "iopl", "ioperm"},
		},
		"kube-proxy": {
			file: "seccomp-kube-proxy-profile.json",
			// sockets, netlink, iptables/nftables helpers it executes, config files
			allow:    []string{"socket", "bind", "listen", "connect", "sendmsg", "recvmsg", "setsockopt", "getsockopt", "execve", "clone", "wait4", "flock", "openat", "inotify_add_watch"},
			deny:     concat([]string{"chroot", "ptrace", "bpf", "perf_event_open"}, modules, []string{"reboot"}, kexec),
			notAllow: []string{"mount", "umount2", "unshare", "setns", "capset", "process_vm_readv", "shmget"},
		},
		"webapp": {
			file: "seccomp-k8s-webapp-profile.json",
			// socket/bind/listen/accept(4), epoll, sendfile, file I/O, workers
			allow:    []string{"socket", "bind", "listen", "accept", "accept4", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "sendfile", "openat", "read", "write", "writev", "close", "clone", "fork", "wait4", "setuid", "setgid"},
			deny:     concat([]string{"capset", "chroot", "ptrace", "bpf", "perf_event_open"}, modules, []string{"reboot"}, kexec),
			notAllow: []string{"mount", "umount2", "unshare", "setns", "process_vm_readv", "process_vm_writev", "io_uring_setup", "keyctl", "add_key", "seccomp", "shmget", "swapon"},
		},
		"database": {
			file: "seccomp-k8s-database-profile.json",
			// file I/O incl. fsync/fdatasync/fallocate, shared memory,
			// mmap/madvise, client sockets, worker processes
			allow:    []string{"openat", "pread64", "pwrite64", "fsync", "fdatasync", "fallocate", "sync_file_range", "shmget", "shmat", "shmdt", "shmctl", "mmap", "madvise", "socket", "accept", "connect", "clone", "fork", "wait4"},
			deny:     concat([]string{"capset", "chroot", "ptrace", "bpf", "perf_event_open"}, modules, []string{"reboot"}, kexec),
			notAllow: []string{"mount", "umount2", "unshare", "setns", "process_vm_readv", "process_vm_writev", "io_uring_setup", "keyctl", "seccomp", "swapon"},
		},
		"system": {
			file: "seccomp-k8s-system-profile.json",
			// process and filesystem inspection, capget/capset, seccomp, ptrace
			allow:    []string{"openat", "getdents64", "statfs", "readlinkat", "process_vm_readv", "kill", "capget", "capset", "seccomp", "ptrace"},
			deny:     concat(modules, []string{"reboot"}, kexec, []string{"bpf", "perf_event_open"}),
			notAllow: []string{"mount", "umount2", "unshare", "setns", "chroot", "process_vm_writev", "settimeofday", "clock_settime", "swapon"},
		},
	}
)

func concat(lists ...[]string) []string { return slices.Concat(lists...) }

func TestNamesAndGet(t *testing.T) {
	want := []string{"database", "kube-proxy", "kubelet", "system", "webapp"}
	if got := Names(); !slices.Equal(got, want) {
		t.Fatalf("Names() = %v, want %v", got, want)
	}
	for name, s := range spec {
		for _, key := range []string{name, s.file, "profiles/kubernetes/" + s.file} {
			p, ok := Get(key)
			if !ok || p.Name != name || p.File != s.file {
				t.Errorf("Get(%q) = %q/%q, %v; want %q/%q", key, p.Name, p.File, ok, name, s.file)
			}
		}
	}
	if _, ok := Get("seccomp-k8s-nope-profile.json"); ok {
		t.Error(`Get("seccomp-k8s-nope-profile.json") found a profile`)
	}
	// Callers get copies: editing one must not change the package's data.
	p, _ := Get("webapp")
	p.Profile.Syscalls[0].Names[0] = "edited"
	p.MustDeny[0] = "edited"
	if q, _ := Get("webapp"); q.Profile.Syscalls[0].Names[0] == "edited" || q.MustDeny[0] == "edited" {
		t.Error("Get returned shared data: a caller's edit leaked into the package")
	}
}

// TestFilesAreGenerated keeps profiles/kubernetes/ equal to the sources.
func TestFilesAreGenerated(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "profiles", "kubernetes")
	for _, p := range All() {
		want, err := JSON(p.Profile)
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, p.File))
		if err != nil {
			t.Fatalf("%v (run `make generate`)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from its source in data/%s.yaml: run `make generate`", p.File, p.Name)
		}
		// The shipped file is what runtimes read: it must load back to the
		// same profile.
		var back profile.Profile
		if err := jsonUnmarshalStrict(got, &back); err != nil {
			t.Errorf("%s: %v", p.File, err)
		}
	}
}

func TestProfilesFollowSpec(t *testing.T) {
	for _, p := range All() {
		s, ok := spec[p.Name]
		if !ok {
			t.Errorf("profile %q is not in the spec table", p.Name)
			continue
		}
		t.Run(p.Name, func(t *testing.T) {
			if p.File != s.file {
				t.Errorf("file = %q, want %q", p.File, s.file)
			}
			if !slices.Equal(sorted(p.MustDeny), sorted(s.deny)) {
				t.Errorf("mustDeny = %v, want %v", sorted(p.MustDeny), sorted(s.deny))
			}
			pr := p.Profile
			if pr.DefaultAction != profile.ActErrno || (pr.DefaultErrnoRet != nil && *pr.DefaultErrnoRet != 1) {
				t.Errorf("default = %s/%v, want SCMP_ACT_ERRNO (EPERM)", pr.DefaultAction, pr.DefaultErrnoRet)
			}
			if !slices.Equal(pr.Architectures, Architectures) {
				t.Errorf("architectures = %v, want %v", pr.Architectures, Architectures)
			}
			seen := map[string]bool{}
			var denyRule []string
			for i, r := range pr.Syscalls {
				if len(r.Args) != 0 || r.Includes != nil || r.Excludes != nil || r.Name != "" {
					t.Errorf("syscalls[%d]: rules must be plain name lists", i)
				}
				if r.Comment == "" {
					t.Errorf("syscalls[%d]: no comment saying why", i)
				}
				switch r.Action {
				case profile.ActAllow:
				case profile.ActErrno:
					if r.ErrnoRet == nil || *r.ErrnoRet != 1 {
						t.Errorf("syscalls[%d]: ERRNO rule without errnoRet 1", i)
					}
					denyRule = append(denyRule, r.Names...)
				default:
					t.Errorf("syscalls[%d]: action %s; only ALLOW and explicit ERRNO are used", i, r.Action)
				}
				for j, n := range r.Names {
					if seen[n] {
						t.Errorf("syscalls[%d].names[%d]: %q appears twice", i, j, n)
					}
					seen[n] = true
					if !knownSomewhere(n) {
						t.Errorf("syscalls[%d].names[%d]: %q is unknown on all of %v", i, j, n, Architectures)
					}
				}
			}
			if !slices.Equal(sorted(denyRule), sorted(s.deny)) {
				t.Errorf("explicit ERRNO rule names = %v, want %v", sorted(denyRule), sorted(s.deny))
			}
			// Verdicts, through the reference evaluator, on every ABI the
			// profile names and where each syscall exists.
			for _, scmp := range Architectures {
				arch := syscalls.MustGet(scmp)
				check := func(name string, want profile.Action) {
					nr, ok := arch.Lookup(name)
					if !ok {
						return
					}
					act, data, err := profile.Evaluate(pr, arch, nr, [6]uint64{})
					if err != nil {
						t.Fatalf("Evaluate(%s, %s): %v", arch.Name, name, err)
					}
					if act != want || (want == profile.ActErrno && data != 1) {
						t.Errorf("%s on %s: %s/%d, want %s", name, arch.Name, act, data, want)
					}
				}
				for _, n := range s.allow {
					check(n, profile.ActAllow)
				}
				for _, n := range s.deny {
					check(n, profile.ActErrno)
				}
				for _, n := range s.notAllow {
					check(n, profile.ActErrno)
				}
				// Something no profile should need falls to the default.
				check("iopl", profile.ActErrno)
			}
			// The must-allow list exists on the native ABIs under some
			// spelling, so the checks above did run for each family.
			for _, native := range []string{"x86_64", "aarch64"} {
				arch := syscalls.MustGet(native)
				n := 0
				for _, name := range s.allow {
					if _, ok := arch.Lookup(name); ok {
						n++
					}
				}
				if n < len(s.allow)/2 {
					t.Errorf("%s: only %d of the must-allow syscalls exist: the check is vacuous", native, n)
				}
			}
		})
	}
}

func knownSomewhere(name string) bool {
	for _, a := range Architectures {
		if _, ok := syscalls.MustGet(a).Lookup(name); ok {
			return true
		}
	}
	return false
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

// TestGroupsHaveReasons checks what reviewers rely on: every allowed syscall
// sits in a named group with a reason, visible in the generated rule comment.
func TestGroupsHaveReasons(t *testing.T) {
	for _, name := range Names() {
		groups, err := Groups(name)
		if err != nil {
			t.Fatal(err)
		}
		p, _ := Get(name)
		allowed := 0
		for _, r := range p.Profile.Syscalls {
			if r.Action == profile.ActAllow {
				allowed += len(r.Names)
			}
		}
		inGroups := map[string]bool{}
		for _, g := range groups {
			if g.Why == "" {
				t.Errorf("%s: group %q has no reason", name, g.Name)
			}
			for _, s := range g.Syscalls {
				inGroups[s] = true
			}
		}
		if len(inGroups) != allowed {
			t.Errorf("%s: %d syscalls in groups, %d allowed in the profile", name, len(inGroups), allowed)
		}
	}
}

// TestLoadRejectsBadSources covers the errors a contributor editing data/ hits.
func TestLoadRejectsBadSources(t *testing.T) {
	groups := "groups:\n  - name: io\n    why: reading\n    syscalls: [read, write]\n"
	good := "name: p\nfile: p.json\ndescription: d\nuse: [io]\nmustDeny: [bpf]\n"
	cases := map[string]struct{ groups, p, want string }{
		"ok":              {groups, good, ""},
		"unknown group":   {groups, "name: p\nfile: p.json\ndescription: d\nuse: [nope]\nmustDeny: [bpf]\n", `"nope": no such group`},
		"allow and deny":  {groups, "name: p\nfile: p.json\ndescription: d\nuse: [io]\nmustDeny: [read]\n", `allows "read", which mustDeny lists`},
		"name mismatch":   {groups, "name: q\nfile: p.json\ndescription: d\nuse: [io]\nmustDeny: [bpf]\n", "source file's name"},
		"unknown field":   {groups, good + "extra: 1\n", "unknown field"},
		"group no reason": {"groups:\n  - name: io\n    syscalls: [read]\n", good, "why: empty"},
		"dup syscall":     {"groups:\n  - name: io\n    why: x\n    syscalls: [read, read]\n", good, "listed twice"},
		"no deny":         {groups, "name: p\nfile: p.json\ndescription: d\nuse: [io]\n", "mustDeny: empty"},
	}
	for name, c := range cases {
		fsys := fstest.MapFS{
			"d/groups.yaml": {Data: []byte(c.groups)},
			"d/p.yaml":      {Data: []byte(c.p)},
		}
		ps, err := Load(fsys, "d")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case c.want == "" && (len(ps) != 1 || len(ps[0].Profile.Syscalls) != 2):
			t.Errorf("%s: got %+v", name, ps)
		case c.want != "" && (err == nil || !bytes.Contains([]byte(err.Error()), []byte(c.want))):
			t.Errorf("%s: error %v, want it to mention %q", name, err, c.want)
		}
	}
}

// jsonUnmarshalStrict decodes data into v, refusing unknown fields, so a
// shipped file with a field the model (and runtimes) do not know is caught.
func jsonUnmarshalStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
