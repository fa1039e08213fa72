package cli

import (
	"encoding/json"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// usesMount is a recorded-style profile of a workload that mounts.
const usesMount = `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
 "syscalls":[{"names":["read","write","exit_group","mount","clone"],"action":"SCMP_ACT_ALLOW"}]}`

const usesPlain = `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],
 "syscalls":[{"names":["read","write","exit_group"],"action":"SCMP_ACT_ALLOW"}]}`

func TestCheckExitCodes(t *testing.T) {
	mount, plain := writeFile(t, "mount.json", usesMount), writeFile(t, "plain.json", usesPlain)
	code, out, errOut := run(t, "check", "--against", "docker@v0.2.4", "--arch", "amd64", "--kernel", "6.1", plain)
	if code != 0 || !strings.Contains(out, "nothing the workload uses would be refused") {
		t.Errorf("plain: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = run(t, "check", "--against", "docker@v0.2.4", "--arch", "amd64", "--kernel", "6.1", mount)
	if code != 1 || !strings.Contains(out, "mount") || !strings.Contains(out, "ERRNO(EPERM)") || !strings.Contains(out, "CLONE_NEWUSER") {
		t.Errorf("mount: exit %d, want 1 listing mount with EPERM and clone's CLONE_NEWUSER\n%s%s", code, out, errOut)
	}
	// With CAP_SYS_ADMIN Docker's default allows mount and every clone.
	for _, caps := range [][]string{{"--caps", "SYS_ADMIN"}, {"--cap-add", "cap_sys_admin"}} {
		args := append([]string{"check", "--against", "docker@v0.2.4", "--arch", "amd64", "--kernel", "6.1"}, caps...)
		code, out, errOut = run(t, append(args, mount)...)
		if code != 0 {
			t.Errorf("mount with %v: exit %d\n%s%s", caps, code, out, errOut)
		}
	}
	code, out, _ = run(t, "check", "-o", "json", "--against", "docker@v0.2.4", "--arch", "amd64", "--kernel", "6.1", "--cap-add", "SYS_ADMIN", "--cap-add", "CAP_SYS_ADMIN", mount)
	var res checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 0 || len(res.Reports[0].Caps) != 15 {
		t.Errorf("--cap-add: exit %d, %v, caps %v: want the 14 default ones and CAP_SYS_ADMIN once", code, err, res.Reports)
	}
	for _, bad := range [][]string{
		{"check", "--against", "podman", mount},
		{"check", "--against", "docker@v9.9.9", mount},
		{"check", mount},
		{"check", "--against", "docker", "--arch", "sparc", mount},
		{"check", "--against", "docker", mount, plain},
	} {
		if code, _, errOut := run(t, bad...); code != 2 || !strings.Contains(errOut, "seccompctl:") {
			t.Errorf("%v: exit %d, want 2 with an error\n%s", bad, code, errOut)
		}
	}
}

func TestCheckList(t *testing.T) {
	code, out, errOut := run(t, "check", "--list")
	if code != 0 || !strings.Contains(out, "containerd@v1.6.20") || !strings.Contains(out, "crio@v0.50.1") || !strings.Contains(out, "docker@v0.3.0") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
	code, out, _ = run(t, "check", "--list", "-o", "json")
	var rows []struct {
		Ref    string   `json:"ref"`
		Arches []string `json:"arches"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil || code != 0 || len(rows) < 8 {
		t.Errorf("json: exit %d, %v, %d rows", code, err, len(rows))
	}
	code, _, errOut = run(t, "check", "--against", "docker", "--arch", "x86", writeFile(t, "p.json", usesPlain))
	if code != 2 || !strings.Contains(errOut, "give x86_64") {
		t.Errorf("--arch x86: exit %d\n%s", code, errOut)
	}
}

func TestCheckJSONAndYAML(t *testing.T) {
	mount := writeFile(t, "mount.json", usesMount)
	for _, form := range []string{"json", "yaml"} {
		code, out, errOut := run(t, "check", "-o", form, "--against", "containerd@v1.6.20", "--arch", "amd64,arm64", "--kernel", "6.1", mount)
		if code != 1 {
			t.Fatalf("%s: exit %d\n%s", form, code, errOut)
		}
		var res checkResult
		var err error
		if form == "json" {
			err = json.Unmarshal([]byte(out), &res)
		} else {
			err = yaml.Unmarshal([]byte(out), &res)
		}
		if err != nil {
			t.Fatalf("%s: %v\n%s", form, err, out)
		}
		if !res.Breaks || len(res.Reports) != 1 || res.Reports[0].Against != "containerd@v1.6.20" || len(res.Reports[0].Arches) != 2 {
			t.Fatalf("%s: %+v", form, res)
		}
		// The profile admits only x86_64: on an arm64 host it uses nothing.
		if a := res.Reports[0].Arches[1]; a.Arch != "aarch64" || len(a.Refused) != 0 || len(a.ABIs) != 0 {
			t.Errorf("%s: arm64: %+v", form, a)
		}
		var found bool
		for _, r := range res.Reports[0].Arches[0].Refused {
			if r.Syscall == "mount" && r.Always && r.Errno == 1 && r.ErrnoName == "EPERM" {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: no mount refusal with EPERM: %+v", form, res.Reports[0].Arches[0])
		}
	}
}

func TestCheckNotesUncheckedArch(t *testing.T) {
	plain := writeFile(t, "plain.json", usesPlain)
	code, out, errOut := run(t, "check", "--against", "containerd", "--arch", "arm64", "--kernel", "6.1", plain)
	if code != 0 || !strings.Contains(out, "admits no ABI of aarch64") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}

func TestCheckAgainstAll(t *testing.T) {
	mount := writeFile(t, "mount.json", usesMount)
	code, out, errOut := run(t, "check", "--against", "all", "--arch", "amd64", "--kernel", "6.1", mount)
	if code != 1 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	header := strings.SplitN(out, "\n", 2)[0]
	for _, rt := range []string{"containerd@v2.4.2", "crio@v0.50.1", "docker@v0.3.0"} {
		if !strings.Contains(header, rt) {
			t.Errorf("header %q lacks %s", header, rt)
		}
	}
	var mountLine string
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, " mount ") {
			mountLine = l
		}
	}
	// CRI-O's default allows mount (capabilities decide), the others refuse it.
	if strings.Count(mountLine, "ERRNO(EPERM)") != 2 || !strings.Contains(mountLine, "ok") {
		t.Errorf("mount line %q, want two refusals and one ok\n%s", mountLine, out)
	}
	code, out, _ = run(t, "check", "-o", "json", "--against", "all", "--arch", "amd64", "--kernel", "6.1", mount)
	var res checkResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 || len(res.Reports) != 3 {
		t.Errorf("json: exit %d, %v, %d reports", code, err, len(res.Reports))
	}
}

func TestCheckRecordsCommand(t *testing.T) {
	code, out, errOut := run(t, "check", "--against", "docker", "--recorder", "notify", "--", "/bin/true")
	if code != 0 || !strings.Contains(errOut, "recorded") || !strings.Contains(out, "nothing the workload uses would be refused") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
