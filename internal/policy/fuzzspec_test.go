package policy

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// specInput is what a user writes into a SeccompPolicy and a
// ProfileBinding, as the fuzz targets take it: lists are ','-separated.
type specInput struct {
	allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers string
	mode                                                                                            uint8
}

func (in specInput) objects() (v1alpha1.SeccompPolicy, v1alpha1.ProfileBinding) {
	split := func(s string) []string {
		if s == "" {
			return nil
		}
		return strings.Split(s, ",")
	}
	p := v1alpha1.SeccompPolicy{ObjectMeta: metav1.ObjectMeta{Name: "fuzz"}}
	for _, a := range split(in.allowed) {
		p.Spec.AllowedProfiles = append(p.Spec.AllowedProfiles, v1alpha1.AllowedProfile(a))
	}
	switch {
	case in.defaultName != "":
		p.Spec.DefaultProfile = &v1alpha1.PolicyProfile{Type: "Localhost", ProfileName: in.defaultName}
	case in.defaultPath != "":
		p.Spec.DefaultProfile = &v1alpha1.PolicyProfile{Type: "Localhost", LocalhostProfile: in.defaultPath}
	case in.mode&4 != 0:
		p.Spec.DefaultProfile = &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}
	}
	p.Spec.Mode = []v1alpha1.PolicyMode{v1alpha1.PolicyModeEnforce, v1alpha1.PolicyModeWarn, v1alpha1.PolicyModeAudit, ""}[in.mode&3]
	sel := metav1.LabelSelector{}
	if in.selKey != "" {
		if in.selOp == "" {
			sel.MatchLabels = map[string]string{in.selKey: in.selValue}
		} else {
			sel.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: in.selKey, Operator: metav1.LabelSelectorOperator(in.selOp), Values: split(in.selValue)}}
		}
	}
	p.Spec.NamespaceSelector = sel
	p.Spec.Exemptions = v1alpha1.PolicyExemptions{Namespaces: split(in.exempt), Usernames: split(in.exempt), RuntimeClasses: split(in.exempt)}
	b := v1alpha1.ProfileBinding{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fuzz"}, Spec: v1alpha1.ProfileBindingSpec{
		ProfileName: in.bindName, Images: split(in.image), ContainerNames: split(in.containers)}}
	if in.mode&8 != 0 {
		b.Spec.PodSelector = sel.DeepCopy()
	}
	return p, b
}

var specSeeds = []specInput{
	{allowed: "RuntimeDefault,team-a-*,localhost/vendor/*", defaultName: "web", selKey: "team", selValue: "a", image: "nginx*", bindName: "web", containers: "app"},
	{allowed: "team..a", bindName: "a..b", image: "*"},
	{allowed: "*", defaultPath: "vendor/x.json", selKey: "tier", selValue: "x,y", selOp: "NotIn", exempt: "ci,kube-public", bindName: "web", mode: 9},
	{allowed: "Unconfined,team.*,-*", defaultName: "A", selKey: "k", selOp: "Near", bindName: "web", image: "[.*+?]\"\\", containers: "app,\u2028", mode: 2},
	{allowed: "localhost/../x", selKey: "a b", selValue: "\x00", selOp: "Exists", exempt: "'\"\\\n", bindName: strings.Repeat("a", 254), mode: 13},
	{allowed: "RuntimeDefault", defaultPath: "a'b\"c\\d", selKey: "app.kubernetes.io/name", selValue: "web", selOp: "In", exempt: "system:serviceaccount:ci:deployer,gvisor", image: "docker.io/library/nginx:*,quay.io/x@sha256:*", bindName: "web.v2", containers: "app,sidecar", mode: 12},
}

func addSpecSeeds(f *testing.F) {
	for _, in := range specSeeds {
		f.Add(in.allowed, in.defaultName, in.defaultPath, in.selKey, in.selValue, in.selOp, in.exempt, in.image, in.bindName, in.containers, in.mode)
	}
}

// FuzzSpecs feeds what users write into SeccompPolicy and ProfileBinding
// specs through the admission path: nothing panics (bad names did, in
// ProfilePath), Compile and CompileBindings fail exactly on what
// CheckPolicy and CheckBinding refuse, Evaluate never fails, and a policy
// or binding they refuse takes no part in its decision.
func FuzzSpecs(f *testing.F) {
	addSpecSeeds(f)
	pods := []string{
		`{"metadata":{"namespace":"ns","labels":{"team":"a"}},"spec":{"containers":[{"name":"app","image":"nginx:1"}]}}`,
		`{"metadata":{"namespace":"ns","annotations":{"container.seccomp.security.alpha.kubernetes.io/app":"localhost/operator/web.json"}},"spec":{"securityContext":{"seccompProfile":{"type":"Unconfined"}},"containers":[{"name":"app","image":"x"}],"initContainers":[{"name":"i"}]}}`,
	}
	var decoded []corev1.Pod
	for _, s := range pods {
		var p corev1.Pod
		if err := json.Unmarshal([]byte(s), &p); err != nil {
			f.Fatal(err)
		}
		decoded = append(decoded, p)
	}
	f.Fuzz(func(t *testing.T, allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers string, mode uint8) {
		p, b := specInput{allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers, mode}.objects()
		pErr, bErr := CheckPolicy(&p), CheckBinding(&b)
		other := pol("other", -1000, metav1.LabelSelector{}, func(s *v1alpha1.SeccompPolicySpec) {
			s.DefaultProfile = &v1alpha1.PolicyProfile{Type: "RuntimeDefault"}
		})
		all := []v1alpha1.SeccompPolicy{p, other}
		if _, err := Compile(&p, all, "op", []v1alpha1.ProfileBinding{b}, nil); (err == nil) != (pErr == nil) {
			t.Fatalf("Compile: %v, CheckPolicy: %v", err, pErr)
		}
		if _, err := Compile(&other, all, "op", []v1alpha1.ProfileBinding{b}, nil); err != nil {
			t.Fatalf("another policy failed with this one in the cluster: %v", err)
		}
		if _, err := CompileBindings("ns", []v1alpha1.ProfileBinding{b}, nil); err != nil {
			t.Fatalf("CompileBindings: %v (CheckBinding: %v)", err, bErr)
		}
		nsLabels := map[string]string{selKey: selValue, "team": "a"}
		for i := range decoded {
			for _, eph := range []bool{false, true} {
				d, err := Evaluate(Request{Describe: true, Pod: &decoded[i], NamespaceLabels: nsLabels, Ephemeral: eph}, State{Policies: all, Bindings: []v1alpha1.ProfileBinding{b}, OperatorNamespace: "op"})
				if err != nil {
					t.Fatalf("Evaluate: %v", err)
				}
				if pErr != nil && d.Policy == p.Name {
					t.Fatalf("a policy CheckPolicy refuses (%v) governs", pErr)
				}
				if bErr != nil && len(d.Bound) > 0 {
					t.Fatalf("a binding CheckBinding refuses (%v) bound %v", bErr, d.Bound)
				}
			}
		}
	})
}

// FuzzCompileCEL: whatever a user writes into the specs that Compile and
// CompileBindings accept, the CEL they build from it (names, label keys
// and values, user names, runtime classes, image patterns, paths) compiles
// with the apiserver's own compiler, as celcost_test.go's does: an
// expression the apiserver refused would leave the policy unapplied. To
// run many inputs a second it compiles the fragments built from user
// strings, each in the context the policies use it in (a whole policy
// takes the compiler a tenth of a second); TestSeedSpecsCompile compiles
// the seeds' whole objects.
func FuzzCompileCEL(f *testing.F) {
	addSpecSeeds(f)
	f.Fuzz(func(t *testing.T, allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers string, mode uint8) {
		for _, s := range []string{allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers} {
			if !utf8.ValidString(s) {
				return // the apiserver stores only UTF-8 (JSON)
			}
		}
		p, b := specInput{allowed, defaultName, defaultPath, selKey, selValue, selOp, exempt, image, bindName, containers, mode}.objects()
		if CheckPolicy(&p) == nil {
			later := pol("later", -1000, metav1.LabelSelector{}, nil)
			gov, err := governs(&later, []v1alpha1.SeccompPolicy{p, later})
			if err != nil {
				t.Fatal(err)
			}
			vars := []admissionv1.Variable{
				{Name: "governs", Expression: gov},
				{Name: "allowed", Expression: "['x'].all(v, " + allowedCEL(p.Spec.AllowedProfiles, "v") + ")"},
			}
			compiler, decls := compileVariables(t, "policy", false, vars)
			compileConditions(t, "policy", compiler, decls, append(matchConditions(&p, podSource), matchConditions(&p, templateSource)...))
			if def, err := defaultProfile(p.Spec.DefaultProfile); err == nil && def != nil {
				compileMutating(t, &admissionv1.MutatingAdmissionPolicy{Spec: admissionv1.MutatingAdmissionPolicySpec{
					Mutations: []admissionv1.Mutation{{PatchType: admissionv1.PatchTypeJSONPatch, JSONPatch: &admissionv1.JSONPatch{
						Expression: "[" + addProfile("'/spec'", "object.spec", "Object.spec", fieldLiteral(def)("Object.spec.securityContext.seccompProfile")) + "]"}}}}})
			}
		}
		if CheckBinding(&b) == nil {
			path, name, err := chosenCEL([]v1alpha1.ProfileBinding{b})
			if err != nil {
				t.Fatal(err)
			}
			compileVariables(t, "bindings", false, []admissionv1.Variable{
				mapVariable("podLabels", podSource.meta+".labels"),
				{Name: "bound", Expression: "object.spec.containers.map(c, [" + path("c") + ", " + name("c") + "])"},
			})
		}
	})
}

// TestSeedSpecsCompile compiles the whole admission objects of
// FuzzCompileCEL's seeds with the apiserver's compilers.
func TestSeedSpecsCompile(t *testing.T) {
	for _, in := range specSeeds {
		p, b := in.objects()
		if o, err := Compile(&p, []v1alpha1.SeccompPolicy{p}, "op", []v1alpha1.ProfileBinding{b}, nil); err == nil {
			for _, vap := range []*admissionv1.ValidatingAdmissionPolicy{o.Validating, o.Installed, o.Templates} {
				compileValidating(t, vap)
			}
			compileMutating(t, o.Mutating)
		}
		if o, err := CompileBindings("ns", []v1alpha1.ProfileBinding{b}, nil); err == nil && o.Mutating != nil {
			compileMutating(t, o.Mutating)
			compileValidating(t, o.Installed)
			compileValidating(t, o.Templates)
		}
	}
}

// compileVariables compiles a policy's variables as the apiserver does
// and fails on any error (apiserverCompiler drops them, as the apiserver
// reports them only when a request reads the variable).
func compileVariables(t *testing.T, name string, params bool, variables []admissionv1.Variable) (*plugincel.CompositedCompiler, plugincel.OptionalVariableDeclarations) {
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		t.Fatal(err)
	}
	vars := plugincel.OptionalVariableDeclarations{HasParams: params, HasAuthorizer: true}
	for _, v := range variables {
		if r := compiler.CompileAndStoreVariable(&validating.Variable{Name: v.Name, Expression: v.Expression}, vars, environment.StoredExpressions); r.Error != nil {
			t.Fatalf("%s: variable %s: %v\n%s", name, v.Name, r.Error, v.Expression)
		}
	}
	return compiler, vars
}

func compileConditions(t *testing.T, name string, compiler *plugincel.CompositedCompiler, vars plugincel.OptionalVariableDeclarations, mc []admissionv1.MatchCondition) {
	conds := make([]plugincel.ExpressionAccessor, len(mc))
	for i := range mc {
		conds[i] = (*matchconditions.MatchCondition)(&mc[i])
	}
	if errs := compiler.CompileCondition(conds, vars, environment.StoredExpressions).CompilationErrors(); len(errs) > 0 {
		t.Fatalf("%s: match conditions: %v", name, errs)
	}
}

func compileValidating(t *testing.T, vap *admissionv1.ValidatingAdmissionPolicy) {
	if vap == nil {
		return
	}
	compiler, vars := compileVariables(t, vap.Name, vap.Spec.ParamKind != nil, vap.Spec.Variables)
	compileConditions(t, vap.Name, compiler, vars, vap.Spec.MatchConditions)
	for _, v := range vap.Spec.Validations {
		if errs := compiler.CompileCondition([]plugincel.ExpressionAccessor{&validating.ValidationCondition{Expression: v.Expression}}, vars, environment.StoredExpressions).CompilationErrors(); len(errs) > 0 {
			t.Fatalf("%s: validation: %v", vap.Name, errs)
		}
		noVars := vars
		noVars.HasAuthorizer = false
		if errs := compiler.CompileCondition([]plugincel.ExpressionAccessor{&validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}}, noVars, environment.StoredExpressions).CompilationErrors(); len(errs) > 0 {
			t.Fatalf("%s: message expression: %v", vap.Name, errs)
		}
	}
}

func compileMutating(t *testing.T, mp *admissionv1.MutatingAdmissionPolicy) {
	if mp == nil {
		return
	}
	compiler, vars := compileVariables(t, mp.Name, mp.Spec.ParamKind != nil, mp.Spec.Variables)
	compileConditions(t, mp.Name, compiler, vars, mp.Spec.MatchConditions)
	vars.HasPatchTypes = true
	for _, mu := range mp.Spec.Mutations {
		ev := compiler.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: mu.JSONPatch.Expression}, vars, environment.StoredExpressions)
		if errs := ev.CompilationErrors(); len(errs) > 0 {
			t.Fatalf("%s: mutation: %v", mp.Name, errs)
		}
	}
}
