package nodepath

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestProfilePath(t *testing.T) {
	for name, want := range map[string]string{
		"webapp":                 "operator/webapp.json",
		"my-app.v2":              "operator/my-app.v2.json",
		"0":                      "operator/0.json",
		"a.b-c.d":                "operator/a.b-c.d.json",
		strings.Repeat("a", 253): "operator/" + strings.Repeat("a", 253) + ".json",
	} {
		if got, err := ProfilePath(name); got != want || err != nil {
			t.Errorf("ProfilePath(%q) = %q, %v; want %q", name, got, err, want)
		}
		if got, ok := NameOf(want); !ok || got != name {
			t.Errorf("NameOf(%q) = %q, %v; want %q, true", want, got, ok, name)
		}
	}
}

func TestInvalidNamesCannotEscape(t *testing.T) {
	for _, name := range []string{
		"", "..", ".", "../x", "a/b", "a/../../etc/passwd", ".hidden", "a..b", "A", "a_b",
		"-a", "a-", "a\x00b", "a\\b", strings.Repeat("a", 254),
	} {
		if err := ValidateName(name); err == nil {
			t.Errorf("ValidateName(%q) accepted", name)
		} else if !strings.Contains(err.Error(), "profile name") {
			t.Errorf("ValidateName(%q) error %q does not name the field", name, err)
		}
		// An error, not a panic: names come from stored objects.
		if p, err := ProfilePath(name); err == nil || p != "" {
			t.Errorf("ProfilePath(%q) = %q, %v; want an error", name, p, err)
		}
	}
}

func TestValidatePrefix(t *testing.T) {
	for _, ok := range []string{"team-a-", "team-a", "a", "0", "web.v2-"} {
		if err := ValidatePrefix(ok); err != nil {
			t.Errorf("ValidatePrefix(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "team..a", "-", ".a", "A", "a_", "a/b", strings.Repeat("a", 254)} {
		if err := ValidatePrefix(bad); err == nil || !strings.Contains(err.Error(), "profile name prefix") {
			t.Errorf("ValidatePrefix(%q) = %v, want an error naming the prefix", bad, err)
		}
	}
}

func TestNameOfRejects(t *testing.T) {
	for _, rel := range []string{
		"operator/x.yaml", "operator/.x.json", "operator/a/b.json", "profiles/kubernetes/x.json",
		"operator/.json", "x.json", "operator/A.json", "operator/.seccomp-operator.tmp.123",
	} {
		if name, ok := NameOf(rel); ok {
			t.Errorf("NameOf(%q) = %q, true; want false", rel, name)
		}
	}
}

func TestPredefinedAliasPath(t *testing.T) {
	if got, want := PredefinedAliasPath("seccomp-k8s-webapp-profile.json"), "profiles/kubernetes/seccomp-k8s-webapp-profile.json"; got != want {
		t.Errorf("PredefinedAliasPath = %q, want %q", got, want)
	}
	for _, f := range []string{"", "../x.json", "a/b.json", ".x.json", "x.yaml", ".json", ".."} {
		if ValidateFile(f) == nil {
			t.Errorf("ValidateFile(%q) accepted", f)
		}
	}
}

func TestAbs(t *testing.T) {
	web, _ := ProfilePath("web")
	if got, want := Abs("/var/lib/kubelet", web), filepath.FromSlash("/var/lib/kubelet/seccomp/operator/web.json"); got != want {
		t.Errorf("Abs = %q, want %q", got, want)
	}
	for _, rel := range []string{"", "/etc/passwd", "../x.json", "operator/../../x", "operator//x.json", "./x.json", "operator/.tmp", "a\\b"} {
		if ValidateRel(rel) == nil {
			t.Errorf("ValidateRel(%q) accepted", rel)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Abs(root, %q) did not panic", rel)
				}
			}()
			Abs("/root", rel)
		}()
	}
}

// FuzzValidateName: whatever a name, ValidateName and ProfilePath answer
// without panicking, and a name they accept maps to a path inside the
// seccomp root that NameOf maps back to the name.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"", "a", "web-app", "a.b", "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b", "A", "a_b", "1.2.3", "x/y", "é", "a.b-c.d0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		_ = ValidatePrefix(s)
		p, err := ProfilePath(s)
		if (err == nil) != (ValidateName(s) == nil) {
			t.Fatalf("ProfilePath(%q) and ValidateName disagree: %v", s, err)
		}
		if err != nil {
			return
		}
		if err := ValidateRel(p); err != nil {
			t.Fatalf("ProfilePath(%q) = %q, outside the root: %v", s, p, err)
		}
		if name, ok := NameOf(p); !ok || name != s {
			t.Fatalf("NameOf(ProfilePath(%q)) = %q, %v", s, name, ok)
		}
	})
}
