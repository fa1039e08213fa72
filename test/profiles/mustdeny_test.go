//go:build proof

package profiles

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
)

// buildDenyprobe compiles ./denyprobe (cgo-free, like the product binaries).
func buildDenyprobe(t *testing.T) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out := filepath.Join(workDir(t, ""), "denyprobe")
	cmd := exec.Command(goBin, "build", "-o", out, "./denyprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build denyprobe: %v\n%s", err, b)
	}
	return out
}

// probe parses denyprobe's "<name> <result>" lines.
func probe(t *testing.T, argv ...string) map[string]string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	res := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			res[f[0]] = f[1]
		}
	}
	return res
}

// TestMustDeny runs each must-deny syscall under each profile:
//   - without a profile, to record what the kernel itself answers (ENOSYS on
//     kernels without modules or kexec, EFAULT/EINVAL/ESRCH for the bad
//     arguments), so an EPERM below cannot be the kernel's;
//   - under --complain, where the report must name exactly the must-deny
//     syscalls (proving the filter matches them, and that the probe's own Go
//     runtime needs nothing else) and the kernel's answers are unchanged;
//   - enforced, where every one must fail with EPERM.
func TestMustDeny(t *testing.T) {
	requireRoot(t)
	if os.Getenv("PROVE_STRACE_DIR") != "" {
		t.Skip("syscall census run: the must-deny probe is not a workload")
	}
	bin := buildDenyprobe(t)
	for _, p := range predefined.All() {
		t.Run(p.Name, func(t *testing.T) {
			dir := workDir(t, "")
			control := probe(t, append([]string{bin}, p.MustDeny...)...)
			for _, name := range p.MustDeny {
				if control[name] == "" {
					t.Fatalf("denyprobe did not probe %s", name)
				}
				if control[name] == "EPERM" {
					t.Logf("%s fails with EPERM even without a profile here; the complain report below still shows the filter matches it", name)
				}
			}
			t.Logf("without profile: %v", control)

			report := filepath.Join(dir, "complain.json")
			got := probe(t, confine(t, complain, p.Name, "", report, append([]string{bin}, p.MustDeny...)...)...)
			for _, name := range p.MustDeny {
				if got[name] != control[name] {
					t.Errorf("complain mode changed %s's result: %s, without profile %s", name, got[name], control[name])
				}
			}
			r := readReport(t, report)
			var denied []string
			for _, d := range r.Denied {
				denied = append(denied, d.Syscall)
			}
			slices.Sort(denied)
			want := slices.Clone(p.MustDeny)
			slices.Sort(want)
			if !slices.Equal(denied, want) {
				t.Errorf("complain report lists %v, want exactly the must-deny set %v", denied, want)
			}

			report = filepath.Join(dir, "enforce.json")
			got = probe(t, confine(t, enforce, p.Name, "", report, append([]string{bin}, p.MustDeny...)...)...)
			for _, name := range p.MustDeny {
				if got[name] != "EPERM" {
					t.Errorf("%s under %s: %s, want EPERM", name, p.Name, got[name])
				}
			}
		})
	}
}
