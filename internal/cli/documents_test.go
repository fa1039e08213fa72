package cli

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

const (
	crdOK  = "apiVersion: seccomp-operator.dev/v1alpha1\nkind: SeccompProfile\nmetadata:\n  name: ok\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - names: [read]\n    action: SCMP_ACT_ALLOW\n"
	crdBad = "apiVersion: seccomp-operator.dev/v1alpha1\nkind: SeccompProfile\nmetadata:\n  name: bad\nspec:\n  defaultAction: SCMP_ACT_ERRNO\n  syscalls:\n  - names: [reed]\n    action: SCMP_ACT_ALLOW\n"
	ociOK  = `{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}`
)

// TestValidateFileForms runs `seccompctl validate` on every form a profile
// file takes as users meet them: each is read (every document), or gets an
// error (or, where runtimes accept it, a note) naming what it is.
func TestValidateFileForms(t *testing.T) {
	tests := []struct {
		name, content string
		code          int      // exit code of validate
		want          []string // in the output, in this order
		not           []string // not in the output
	}{
		{"empty file", "", 1, []string{"empty: no profile in it"}, nil},
		{"only blanks", " \n\t\r\n", 1, []string{"empty: no profile in it"}, nil},
		{"only YAML comments", "# nothing\n---\n# here\n", 1, []string{"only YAML comments"}, nil},
		{"second document invalid", crdOK + "---\n" + crdBad, 1,
			[]string{"(document 1): valid", `(document 2): error: syscalls[0].names[0]: "reed"`, "(document 2): invalid"}, nil},
		{"two valid documents", crdOK + "---\n" + strings.Replace(crdOK, "name: ok", "name: ok2", 1), 0,
			[]string{"(document 1): valid", "(document 2): valid"}, nil},
		{"separators around one document", "---\n" + crdOK + "---\n", 0, []string{": valid"}, []string{"(document"}},
		{"a third document that is a Pod", crdOK + "---\n" + crdOK + "---\napiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", 1,
			[]string{"(document 3): cannot be read: a Pod (apiVersion \"v1\"), not a seccomp profile"}, nil},
		{"SeccompProfile of another version", strings.Replace(crdOK, "v1alpha1", "v1beta1", 1), 1,
			[]string{`apiVersion seccomp-operator.dev/v1beta1 is not one this seccompctl knows: it reads seccomp-operator.dev/v1alpha1`}, nil},
		{"SeccompProfile of another group", strings.Replace(crdOK, "seccomp-operator.dev/v1alpha1", "example.com/v1", 1), 1,
			[]string{`a SeccompProfile of apiVersion "example.com/v1", not seccomp-operator's`}, nil},
		{"security-profiles-operator SeccompProfile", strings.Replace(crdOK, "seccomp-operator.dev/v1alpha1", "security-profiles-operator.x-k8s.io/v1beta1", 1), 1,
			[]string{"a security-profiles-operator SeccompProfile (security-profiles-operator.x-k8s.io/v1beta1), not seccomp-operator's: set apiVersion to seccomp-operator.dev/v1alpha1"}, nil},
		{"List of objects", "apiVersion: v1\nkind: List\nitems:\n- " + strings.ReplaceAll(crdOK, "\n", "\n  ") + "\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: c}\n", 1,
			[]string{"items[0]: valid", "items[1]: cannot be read: a ConfigMap"}, nil},
		{"JSON List as kubectl prints it", `{"apiVersion":"v1","kind":"List","items":[{"apiVersion":"seccomp-operator.dev/v1alpha1","kind":"SeccompProfile","metadata":{"name":"j"},"spec":{"defaultAction":"SCMP_ACT_ALLOW"}}]}`, 0,
			[]string{"items[0]: valid"}, nil},
		{"empty List", "apiVersion: v1\nkind: List\nitems: []\n", 1, []string{"a List without items"}, nil},
		{"Kubernetes Pod", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers: []\n", 1,
			[]string{`a Pod (apiVersion "v1"), not a seccomp profile`, "securityContext.seccompProfile"}, nil},
		{"Deployment as JSON", `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"d"}}`, 1,
			[]string{`a Deployment (apiVersion "apps/v1"), not a seccomp profile`}, nil},
		{"apiVersion without kind", "apiVersion: v1\nmetadata: {name: x}\n", 1, []string{`apiVersion "v1" without a kind`}, nil},
		{"Docker profile with a misspelt field", `{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"nmaes":["read"],"action":"SCMP_ACT_ALLOW"}]}`, 1,
			[]string{`note: syscalls[0].nmaes: "nmaes": unknown field, ignored`, "syscalls[0].names: no syscall names"}, nil},
		{"SeccompProfile with a misspelt field", strings.Replace(crdOK, "  syscalls:", "  sycalls:", 1), 1,
			[]string{`SeccompProfile: json: unknown field "sycalls" (kubectl refuses unknown fields too`}, nil},
		{"JSON with trailing garbage", ociOK + " }x", 1,
			[]string{"line 1, column 131: content after the end of the profile", "remove what follows it"}, nil},
		{"two JSON objects", ociOK + "\n" + ociOK, 1, []string{"line 2, column 1: content after the end of the profile"}, nil},
		{"JSON array", "[" + ociOK + "]", 1, []string{"a JSON array, not a profile"}, nil},
		{"duplicate JSON keys", `{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_ERRNO"}],"syscalls":[]}`, 0,
			[]string{`note: syscalls: "syscalls": duplicate key (first as "syscalls"); runtimes keep the last value`, "valid (1 notes)"}, nil},
		{"duplicate JSON keys in other case", `{"defaultAction":"SCMP_ACT_ALLOW","DefaultAction":"SCMP_ACT_LOG"}`, 0,
			[]string{`note: DefaultAction: "DefaultAction": duplicate key (first as "defaultAction")`}, nil},
		{"duplicate YAML keys", strings.Replace(crdOK, "kind: SeccompProfile\n", "kind: SeccompProfile\nkind: SeccompProfile\n", 1), 1,
			[]string{`not valid YAML`, `key "kind" already set`}, nil},
		{"profile wrapped in seccomp", `{"seccomp":` + ociOK + `}`, 1, []string{`a profile wrapped in {"seccomp": ...}`, "unwrap it"}, nil},
		{"OCI runtime config.json", `{"ociVersion":"1.2.0","linux":{"seccomp":` + ociOK + `}}`, 1,
			[]string{"an OCI runtime configuration (config.json)", "linux.seccomp"}, nil},
		{"JSON with a byte order mark", "\xef\xbb\xbf" + ociOK, 1, []string{"byte order mark, which runc, containerd and CRI-O reject in JSON"}, nil},
		{"YAML with a byte order mark", "\xef\xbb\xbf" + crdOK, 0, []string{"note: file: starts with a UTF-8 byte order mark", "valid (1 notes)"}, nil},
		{"JSON with CRLF", strings.ReplaceAll("{\n\"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n", "\n", "\r\n"), 0, []string{"valid (0 notes)"}, nil},
		{"YAML stream with CRLF", strings.ReplaceAll(crdOK+"---\n"+crdBad, "\n", "\r\n"), 1,
			[]string{"(document 1): valid", `(document 2): error: syscalls[0].names[0]: "reed"`}, nil},
		{"Podman / CRI-O errno names", `{"defaultAction":"SCMP_ACT_ERRNO","defaultErrno":"ENOSYS","syscalls":[{"names":["mount"],"action":"SCMP_ACT_ERRNO","errno":"EPERM"}]}`, 0,
			[]string{"valid (0 notes)"}, nil},
		{"libseccomp pseudo filter code", "#\n# pseudo filter code start\n#\n# filter for arch x86_64 (3221225534)\nif ($arch == 3221225534)\n", 1,
			[]string{"libseccomp pseudo filter code (seccomp_export_pfc output), not a profile"}, nil},
		{"compiled filter", "\x20\x00\x00\x00\x04\x00\x00\x00\x15\x00", 1, []string{"binary data, not a profile"}, nil},
		{"OCI profile written as YAML", "defaultAction: SCMP_ACT_ALLOW\nsyscalls: []\n", 1,
			[]string{"an OCI seccomp profile written as YAML, which runtimes do not read"}, nil},
		{"YAML scalar", "just some text\n", 1, []string{"a YAML scalar, not an object"}, nil},
		{"YAML list", "- a\n- b\n", 1, []string{"a YAML list, not an object"}, nil},
		{"SeccompProfile as JSON", `{"apiVersion":"seccomp-operator.dev/v1alpha1","kind":"SeccompProfile","metadata":{"name":"j"},"spec":{"defaultAction":"SCMP_ACT_ALLOW"}}`, 0,
			[]string{"valid"}, nil},
		{"name with a path", strings.Replace(crdOK, "name: ok", "name: ../../etc/x", 1), 1,
			[]string{`SeccompProfile: metadata.name: profile name "../../etc/x": a lowercase RFC 1123 subdomain`}, nil},
		{"name missing", strings.Replace(crdOK, "  name: ok\n", "  labels: {}\n", 1), 1,
			[]string{"metadata.name: profile name: must not be empty"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := writeFile(t, "p.txt", tt.content)
			code, out, errOut := run(t, "validate", f)
			if code != tt.code {
				t.Errorf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			rest := out
			for _, w := range tt.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Errorf("output lacks %q (in order):\n%s", w, out)
					continue
				}
				rest = rest[i+len(w):]
			}
			for _, w := range tt.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestOneProfileCommands: the commands that work on one profile refuse a
// file of several (naming the count and what to do) and report a document
// error with the file's name.
func TestOneProfileCommands(t *testing.T) {
	two := writeFile(t, "two.yaml", crdOK+"---\n"+crdOK)
	for _, cmd := range [][]string{{"compile"}, {"convert"}, {"simulate", "--syscall", "read"}, {"diff", "webapp"}} {
		code, _, errOut := run(t, append(cmd[:1:1], append([]string{two}, cmd[1:]...)...)...)
		if code != 2 || !strings.Contains(errOut, "holds 2 documents, and this command takes one profile") {
			t.Errorf("%s on two documents: exit %d, stderr %q", cmd[0], code, errOut)
		}
	}
	pod := writeFile(t, "pod.yaml", "apiVersion: v1\nkind: Pod\n")
	if code, _, errOut := run(t, "compile", pod); code != 2 || !strings.Contains(errOut, "pod.yaml: a Pod") {
		t.Errorf("compile a Pod: exit %d, stderr %q", code, errOut)
	}
}

// TestConvertName: convert writes only names that can be a node's file name.
func TestConvertName(t *testing.T) {
	code, out, errOut := run(t, "convert", "webapp", "--name", "../../etc/x")
	if code != 2 || out != "" || !strings.Contains(errOut, `--name: profile name "../../etc/x": a lowercase RFC 1123 subdomain`) {
		t.Errorf("convert --name ../../etc/x: exit %d, out %q, stderr %q", code, out, errOut)
	}
	f := writeFile(t, "___.json", ociOK)
	code, out, errOut = run(t, "convert", f)
	if code != 2 || out != "" || !strings.Contains(errOut, "give one with --name") {
		t.Errorf("convert ___.json: exit %d, out %q, stderr %q", code, out, errOut)
	}
	if code, out, errOut := run(t, "convert", f, "--name", "good.name"); code != 0 || !strings.Contains(out, "name: good.name") {
		t.Errorf("convert --name good.name: exit %d, out %q, stderr %q", code, out, errOut)
	}
}

// zeros is an endless input, like /dev/zero.
type zeros struct{ n int64 }

func (z *zeros) Read(p []byte) (int, error) {
	clear(p)
	z.n += int64(len(p))
	return len(p), nil
}

// TestInputLimit: an endless input ends with an error naming the limit,
// after reading just past it.
func TestInputLimit(t *testing.T) {
	z := &zeros{}
	var out, errb bytes.Buffer
	code := Execute([]string{"validate", "-"}, z, &out, &errb)
	if code != 1 || !strings.Contains(out.String(), "standard input: input too large: more than 16777216 bytes (16 MiB") {
		t.Errorf("validate - < /dev/zero: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if z.n > MaxInputBytes+1<<20 {
		t.Errorf("read %d bytes of an endless input, want about %d", z.n, MaxInputBytes)
	}
	if code, _, errOut := run(t, "compile", "/dev/zero"); code != 2 || !strings.Contains(errOut, "/dev/zero: input too large") {
		t.Errorf("compile /dev/zero: exit %d, stderr %q", code, errOut)
	}
	big := writeFile(t, "big.yaml", "# "+strings.Repeat("x", MaxInputBytes)+"\n")
	if code, _, errOut := run(t, "audit", "--policy", "--file", big); code != 2 || !strings.Contains(errOut, "input too large") {
		t.Errorf("audit --file big.yaml: exit %d, stderr %q", code, errOut)
	}
	// Standard input within the limit is read like a file.
	var o2, e2 bytes.Buffer
	if code := Execute([]string{"validate", "-"}, io.MultiReader(strings.NewReader(ociOK)), &o2, &e2); code != 0 || !strings.Contains(o2.String(), "standard input: valid") {
		t.Errorf("validate - < profile: exit %d\n%s%s", code, o2.String(), e2.String())
	}
}

// TestAuditPolicyDocuments: every document of a --file is read, and a
// document that is not a SeccompPolicy is named.
func TestAuditPolicyDocuments(t *testing.T) {
	pol := "apiVersion: seccomp-operator.dev/v1alpha1\nkind: SeccompPolicy\nmetadata:\n  name: a\nspec: {}\n"
	f := writeFile(t, "p.yaml", pol+"---\napiVersion: v1\nkind: Pod\nmetadata: {name: x}\n")
	if _, err := readPolicies([]string{f}, nil); err == nil || !strings.Contains(err.Error(), "p.yaml (document 2): not a SeccompPolicy") {
		t.Errorf("readPolicies: %v", err)
	}
	f = writeFile(t, "p.yaml", pol+"---\n"+strings.Replace(pol, "name: a", "name: b", 1))
	if got, err := readPolicies([]string{f}, nil); err != nil || len(got) != 2 || got[1].Name != "b" {
		t.Errorf("readPolicies of two: %v, %v", got, err)
	}
}
