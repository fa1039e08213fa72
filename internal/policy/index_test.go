package policy

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func variable(vars []admissionv1.Variable, name string) string {
	for _, v := range vars {
		if v.Name == name {
			return v.Expression
		}
	}
	return "<no variable " + name + ">"
}

// carriesIndex checks that each policy reads no params and carries the
// index literals installed and notInstalled.
func carriesIndex(t *testing.T, installed, notInstalled string, vaps ...*admissionv1.ValidatingAdmissionPolicy) {
	t.Helper()
	for _, v := range vaps {
		if v.Spec.ParamKind != nil {
			t.Errorf("%s: param kind %v, want none", v.Name, v.Spec.ParamKind)
		}
		if got := variable(v.Spec.Variables, "installed"); got != installed {
			t.Errorf("%s: installed = %s, want %s", v.Name, got, installed)
		}
		if got := variable(v.Spec.Variables, "notInstalled"); got != notInstalled {
			t.Errorf("%s: notInstalled = %s, want %s", v.Name, got, notInstalled)
		}
	}
}

// The installed checks carry a published index as literals and read no
// params; without one, or with one too large for CEL, they read params.
func TestCompileCarriesTheIndex(t *testing.T) {
	a := pol("a", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"web-*"}
	})
	index := &v1alpha1.SeccompProfileIndex{Installed: ",web-a,web-b,", NotInstalled: map[string]string{"web-z": `invalid: "x"`, "web-c": "disabled"}}
	o, err := Compile(&a, nil, "", nil, index)
	if err != nil {
		t.Fatal(err)
	}
	// With an allowed list, the list and the installed check are one
	// policy; without one, the installed check is alone.
	if o.Installed != nil || o.InstalledBind != nil || len(o.Validating.Spec.Validations) != 1 {
		t.Fatalf("allowed list and index: want one validating policy with one check, got %+v and %+v", o.Validating, o.Installed)
	}
	if check := o.Validating.Spec.Validations[0].Expression; !strings.Contains(check, `"localhost/operator/web-"`) || !strings.Contains(check, "variables.installed.contains(") {
		t.Errorf("allowed list and index: the check does not judge both: %s", check)
	}
	carriesIndex(t, `",web-a,web-b,"`, `{"web-c": "disabled", "web-z": "invalid: \"x\""}`, o.Validating, o.Templates)
	for _, b := range []*admissionv1.ValidatingAdmissionPolicyBinding{o.ValidatingBind, o.TemplatesBind} {
		if b.Spec.ParamRef != nil {
			t.Errorf("%s: param ref %v, want none", b.Name, b.Spec.ParamRef)
		}
	}
	noList := pol("b", 0, metav1.LabelSelector{}, nil)
	if o, err = Compile(&noList, nil, "", nil, index); err != nil {
		t.Fatal(err)
	}
	if o.Validating != nil || o.Installed == nil || o.InstalledBind.Spec.ParamRef != nil {
		t.Fatalf("no allowed list: want the installed check alone, got %+v and %+v", o.Validating, o.Installed)
	}
	carriesIndex(t, `",web-a,web-b,"`, `{"web-c": "disabled", "web-z": "invalid: \"x\""}`, o.Installed)

	var big strings.Builder
	big.WriteString(",")
	for i := 0; big.Len() <= maxIndexLiteral; i++ {
		fmt.Fprintf(&big, "profile-%06d,", i)
	}
	for name, idx := range map[string]*v1alpha1.SeccompProfileIndex{"none": nil, "too large": {Installed: big.String()}} {
		o, err := Compile(&a, nil, "", nil, idx)
		if err != nil {
			t.Fatal(err)
		}
		if o.Installed.Spec.ParamKind == nil || o.InstalledBind.Spec.ParamRef == nil || o.TemplatesBind.Spec.ParamRef == nil {
			t.Errorf("index %s: want the index as params", name)
		}
		if got := variable(o.Installed.Spec.Variables, "installed"); !strings.Contains(got, "params.installed") {
			t.Errorf("index %s: installed = %s", name, got)
		}
		// A missing index skips the installed check's policy whole: the
		// allowed list must not be in it.
		if o.Validating == nil || o.Validating.Spec.ParamKind != nil || len(o.Validating.Spec.Validations) != 1 || len(o.Installed.Spec.Validations) != 1 {
			t.Errorf("index %s: want the allowed list and the installed check in two policies", name)
		}
	}
}

// A namespace's binding checks carry only what the index says of the
// profiles its bindings name.
func TestCompileBindingsCarryTheirProfiles(t *testing.T) {
	b := func(name, profile string) v1alpha1.ProfileBinding {
		pb := v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"}}
		pb.Spec.ProfileName, pb.Spec.ContainerNames = profile, []string{name}
		return pb
	}
	index := &v1alpha1.SeccompProfileIndex{Installed: ",other,web,web-a,", NotInstalled: map[string]string{"legacy": "disabled", "unrelated": "disabled"}}
	o, err := CompileBindings("ns", []v1alpha1.ProfileBinding{b("x", "web"), b("y", "legacy"), b("z", "gone"), b("w", "web")}, index)
	if err != nil {
		t.Fatal(err)
	}
	// Only the bound profiles web and legacy.
	carriesIndex(t, `",web,"`, `{"legacy": "disabled"}`, o.Installed, o.Templates)
	if o.InstalledBind.Spec.ParamRef != nil || o.TemplatesBind.Spec.ParamRef != nil {
		t.Error("bindings with a published index: want no param ref")
	}
	o, err = CompileBindings("ns", []v1alpha1.ProfileBinding{b("x", "web")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if o.Installed.Spec.ParamKind == nil || o.InstalledBind.Spec.ParamRef == nil {
		t.Error("no index yet: want the index as params")
	}
}

// The match conditions carry the installed set as a map literal (a map
// lookup costs the apiserver's cost tracking nothing; a string's contains
// makes it count the runes of the whole index), and fall back to an empty
// set where the literal would make the condition longer than the
// apiserver accepts.
func TestMatchConditionCarriesTheInstalledSet(t *testing.T) {
	a := pol("a", 0, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
		s.AllowedProfiles = []v1alpha1.AllowedProfile{"web-*"}
	})
	if got := setLiteral(",web-a,web-b,"); got != `{"web-a":true,"web-b":true}` {
		t.Errorf("setLiteral: %s", got)
	}
	if got := setLiteral(""); got != "{}" {
		t.Errorf("setLiteral of an empty set: %s", got)
	}
	condition := func(idx *v1alpha1.SeccompProfileIndex) string {
		o, err := Compile(&a, nil, "", nil, idx)
		if err != nil {
			t.Fatal(err)
		}
		if len(o.Validating.Spec.MatchConditions) != 1 {
			t.Fatalf("match conditions %+v, want one", o.Validating.Spec.MatchConditions)
		}
		return o.Validating.Spec.MatchConditions[0].Expression
	}
	small := condition(&v1alpha1.SeccompProfileIndex{Installed: ",web-a,web-b,"})
	if !strings.Contains(small, `[{"web-a":true,"web-b":true}].all(installed, `) || !strings.Contains(small, " in installed") || strings.Contains(small, ".contains(") {
		t.Errorf("small index: the condition does not look names up in the map literal: %s", small)
	}
	// 5000 names fit a string literal (maxIndexLiteral) but not a map
	// literal within maxExpression.
	var big strings.Builder
	big.WriteString(",")
	for i := range 5000 {
		fmt.Fprintf(&big, "web-profile-%04d,", i)
	}
	if big.Len() > maxIndexLiteral {
		t.Fatalf("test index of %d bytes is past maxIndexLiteral", big.Len())
	}
	large := condition(&v1alpha1.SeccompProfileIndex{Installed: big.String()})
	if n := utf8.RuneCountInString(large); n > maxExpression || strings.Contains(large, "web-profile-0000") || !strings.Contains(large, " in {}") {
		t.Errorf("large index: %d code points, want the empty set instead of the literal", n)
	}
}
