package v1alpha1

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

const profileCRD = "../../config/crd/bases/seccomp-operator.dev_seccompprofiles.yaml"

// node is a piece of the CRD YAML with helpers to walk the schema.
type node map[string]any

func loadCRD(t *testing.T, path string) node {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read CRD (run `make generate`): %v", err)
	}
	var crd node
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatalf("parse %s: %v", path, err)
	}
	return crd
}

// get walks a path of map keys; an int steps into a list.
func (n node) get(t *testing.T, path ...any) any {
	t.Helper()
	var cur any = map[string]any(n)
	for i, k := range path {
		switch k := k.(type) {
		case string:
			m, ok := cur.(map[string]any)
			if !ok {
				t.Fatalf("%v: not an object", path[:i])
			}
			if cur, ok = m[k]; !ok {
				t.Fatalf("%v: no key %q", path[:i], k)
			}
		case int:
			l, ok := cur.([]any)
			if !ok || k >= len(l) {
				t.Fatalf("%v: no item %d", path[:i], k)
			}
			cur = l[k]
		}
	}
	return cur
}

// schema returns the schema at a dotted property path below the version's
// openAPIV3Schema; "[]" steps into array items.
func (n node) schema(t *testing.T, dotted string) node {
	t.Helper()
	cur := node(n.get(t, "spec", "versions", 0, "schema", "openAPIV3Schema").(map[string]any))
	if dotted == "" {
		return cur
	}
	for _, p := range strings.Split(dotted, ".") {
		if p == "[]" {
			cur = node(cur.get(t, "items").(map[string]any))
			continue
		}
		cur = node(cur.get(t, "properties", p).(map[string]any))
	}
	return cur
}

func strs(t *testing.T, v any) []string {
	t.Helper()
	l, ok := v.([]any)
	if !ok {
		t.Fatalf("%v is not a list", v)
	}
	out := make([]string, len(l))
	for i, e := range l {
		out[i] = fmt.Sprint(e)
	}
	return out
}

func sameSet[T ~string](t *testing.T, what string, got []string, want []T) {
	t.Helper()
	w := make([]string, len(want))
	for i, v := range want {
		w[i] = string(v)
	}
	slices.Sort(got)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Errorf("%s = %v, want %v", what, got, w)
	}
}

func TestCRDResource(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	if got := crd.get(t, "spec", "scope"); got != "Cluster" {
		t.Errorf("scope = %v, want Cluster (one profile name = one node file cluster-wide)", got)
	}
	if got := strs(t, crd.get(t, "spec", "names", "shortNames")); !slices.Contains(got, "sp") {
		t.Errorf("shortNames = %v, want sp", got)
	}
	if got := crd.get(t, "spec", "group"); got != GroupVersion.Group {
		t.Errorf("group = %v, want %s", got, GroupVersion.Group)
	}
	crd.get(t, "spec", "versions", 0, "subresources", "status")
	var cols []string
	for _, c := range crd.get(t, "spec", "versions", 0, "additionalPrinterColumns").([]any) {
		cols = append(cols, c.(map[string]any)["name"].(string))
	}
	for _, want := range []string{"Ready", "Installed", "Age"} {
		if !slices.Contains(cols, want) {
			t.Errorf("printer columns %v lack %s", cols, want)
		}
	}
}

func TestCRDDefaultsMatchGo(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	if got := crd.schema(t, "spec.defaultAction").get(t, "default"); got != string(DefaultAction) || DefaultAction != "SCMP_ACT_ERRNO" {
		t.Errorf("defaultAction default = %v (Go %s), want SCMP_ACT_ERRNO", got, DefaultAction)
	}
	if got := crd.schema(t, "spec.mode").get(t, "default"); got != string(ModeEnforce) {
		t.Errorf("mode default = %v, want Enforce", got)
	}
	// The schema default and DefaultArchitectures (used by ToProfile for
	// files that never went through an apiserver) must agree, and be the
	// amd64 and arm64 families as the syscall tables define them.
	gotArchs := strs(t, crd.schema(t, "spec.architectures").get(t, "default"))
	if !slices.Equal(gotArchs, toStrings(DefaultArchitectures())) {
		t.Errorf("architectures default = %v, DefaultArchitectures() = %v", gotArchs, DefaultArchitectures())
	}
	var families []string
	for _, native := range []string{"x86_64", "aarch64"} {
		for _, a := range syscalls.Family(native) {
			families = append(families, a.SCMP())
		}
	}
	sameSet(t, "architectures default", gotArchs, families)
}

func TestCRDEnumsMatchModel(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	sameSet(t, "defaultAction enum", strs(t, crd.schema(t, "spec.defaultAction").get(t, "enum")), profile.KnownActions)
	sameSet(t, "syscalls[].action enum", strs(t, crd.schema(t, "spec.syscalls.[].action").get(t, "enum")), profile.KnownActions)
	sameSet(t, "args[].op enum", strs(t, crd.schema(t, "spec.syscalls.[].args.[].op").get(t, "enum")), profile.KnownOperators)
	sameSet(t, "flags enum", strs(t, crd.schema(t, "spec.flags.[]").get(t, "enum")), profile.KnownFlags)
	sameSet(t, "mode enum", strs(t, crd.schema(t, "spec.mode").get(t, "enum")), []Mode{ModeEnforce, ModeComplain})

	archEnum := strs(t, crd.schema(t, "spec.architectures.[]").get(t, "enum"))
	for _, a := range syscalls.All() {
		if !slices.Contains(archEnum, a.SCMP()) {
			t.Errorf("architectures enum lacks %s, which the syscall tables know", a.SCMP())
		}
	}
	// Every admitted name must mean an ABI to the compiler, or a profile
	// naming it would be accepted and then silently not cover that ABI.
	for _, a := range archEnum {
		if _, ok := syscalls.Get(a); !ok || !strings.HasPrefix(a, "SCMP_ARCH_") {
			t.Errorf("architectures enum has %q, which syscalls.Get does not know", a)
		}
	}
}

func TestCRDBounds(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	idx := crd.schema(t, "spec.syscalls.[].args.[].index")
	if idx.get(t, "minimum") != 0.0 || idx.get(t, "maximum") != 5.0 {
		t.Errorf("args[].index bounds = [%v, %v], want [0, 5]", idx["minimum"], idx["maximum"])
	}
	names := crd.schema(t, "spec.syscalls.[].names")
	if names.get(t, "minItems") != 1.0 || names.get(t, "x-kubernetes-list-type") != "set" {
		t.Errorf("names: minItems %v list-type %v, want 1 and set (non-empty, unique)", names["minItems"], names["x-kubernetes-list-type"])
	}
	// Every list and string CEL can reach must be bounded, or the apiserver
	// rejects the CRD for its estimated rule cost.
	for _, p := range []string{"spec.syscalls", "spec.syscalls.[].names", "spec.syscalls.[].args", "spec.architectures", "spec.flags"} {
		if _, ok := crd.schema(t, p)["maxItems"]; !ok {
			t.Errorf("%s has no maxItems", p)
		}
	}
	for _, p := range []string{"spec.baseProfileName", "spec.syscalls.[].names.[]"} {
		if _, ok := crd.schema(t, p)["maxLength"]; !ok {
			t.Errorf("%s has no maxLength", p)
		}
	}
	// Argument values are int-or-string so that values >= 2^63 survive the
	// apiserver (see ArgValue).
	for _, p := range []string{"spec.syscalls.[].args.[].value", "spec.syscalls.[].args.[].valueTwo"} {
		s := crd.schema(t, p)
		if s["x-kubernetes-int-or-string"] != true || s["type"] != nil {
			t.Errorf("%s: int-or-string %v type %v, want int-or-string without a type", p, s["x-kubernetes-int-or-string"], s["type"])
		}
	}
}

// TestCRDCoversProfile checks that every field of a resolved profile has a
// place in the schema, so a field added to the model cannot silently be
// dropped by the CRD (the conversion test checks the Go side).
func TestCRDCoversProfile(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	for _, tc := range []struct {
		path    string
		typ     reflect.Type
		omitted []string // not part of a resolved profile
	}{
		{"spec", reflect.TypeFor[profile.Profile](), []string{"archMap"}},
		{"spec.syscalls.[]", reflect.TypeFor[profile.Syscall](), []string{"name", "includes", "excludes"}},
		{"spec.syscalls.[].args.[]", reflect.TypeFor[profile.Arg](), nil},
	} {
		props := crd.schema(t, tc.path).get(t, "properties").(map[string]any)
		for i := range tc.typ.NumField() {
			name, _, _ := strings.Cut(tc.typ.Field(i).Tag.Get("json"), ",")
			_, inCRD := props[name]
			if slices.Contains(tc.omitted, name) {
				if inCRD {
					t.Errorf("%s.%s is in the CRD, but resolved profiles have none", tc.path, name)
				}
				continue
			}
			if !inCRD {
				t.Errorf("%s.%s (profile field %s) is missing from the CRD", tc.path, name, tc.typ.Field(i).Name)
			}
		}
	}
}

func TestCRDHasCELRules(t *testing.T) {
	crd := loadCRD(t, profileCRD)
	rules := func(p string) string {
		var out []string
		for _, r := range crd.schema(t, p)["x-kubernetes-validations"].([]any) {
			out = append(out, r.(map[string]any)["rule"].(string))
		}
		return strings.Join(out, "\n")
	}
	for p, want := range map[string]string{
		"":                 "self.spec.baseProfileName != self.metadata.name",
		"spec":             "self.defaultErrnoRet",
		"spec.syscalls.[]": "self.errnoRet",
	} {
		if got := rules(p); !strings.Contains(got, want) {
			t.Errorf("CEL rules at %q = %q, want one using %s", p, got, want)
		}
	}
}

func toStrings[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

func TestNodeStatusCRD(t *testing.T) {
	crd := loadCRD(t, "../../config/crd/bases/seccomp-operator.dev_seccompnodestatuses.yaml")
	if got := crd.get(t, "spec", "scope"); got != "Cluster" {
		t.Errorf("scope = %v, want Cluster (one object per node)", got)
	}
	states := strs(t, crd.schema(t, "status.profiles.[].state").get(t, "enum"))
	sameSet(t, "state enum", states, []InstallState{InstallStateInstalled, InstallStatePending, InstallStateFailed, InstallStateRemoving})
	p := crd.schema(t, "status.profiles")
	// Atomic: the agent always writes the whole list, and per-entry
	// managed fields on every write of 1000 entries would buy nothing.
	if p["x-kubernetes-list-type"] != "atomic" {
		t.Errorf("status.profiles: list-type %v, want atomic", p["x-kubernetes-list-type"])
	}
}
