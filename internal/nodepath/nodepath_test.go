package nodepath

import (
	"path/filepath"
	"regexp"
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
		if got := ProfilePath(name); got != want {
			t.Errorf("ProfilePath(%q) = %q, want %q", name, got, want)
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
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("ProfilePath(%q) did not panic", name)
				}
			}()
			ProfilePath(name)
		}()
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
	if got, want := Abs("/var/lib/kubelet", ProfilePath("web")), filepath.FromSlash("/var/lib/kubelet/seccomp/operator/web.json"); got != want {
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

var dns1123Subdomain = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`)

// FuzzValidateName holds the hand-written DNS-1123 subdomain check to the
// regular expression it replaced.
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{"", "a", "web-app", "a.b", "a..b", ".a", "a.", "-a", "a-", "a.-b", "a-.b", "A", "a_b", "1.2.3", "x/y", "é", "a.b-c.d0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := isDNS1123Subdomain(s), s != "" && dns1123Subdomain.MatchString(s); got != want {
			t.Fatalf("isDNS1123Subdomain(%q) = %v, the expression says %v", s, got, want)
		}
	})
}
