package policy

import (
	"context"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/validating"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// The validating policy's cost per pod create, measured with the
// apiserver's own CEL evaluator (k8s.io/apiserver's validating plugin,
// compiled the way its compilePolicy does, evaluated against a typed pod
// the way its dispatcher does), without the noise of a whole apiserver on
// two CPUs (bench/admission measures that end to end).
//
//	go test -run XXX -bench ValidatingPolicy -benchmem ./internal/policy/

// apiserverCompiler is what kube-apiserver's validating and mutating
// plugins compile first for a policy (their compilePolicy, which is not
// exported): a composited compiler with the strict-cost base environment
// holding the policy's variables, the variable declarations its
// expressions see, and the matcher of its match conditions (nil for none).
func apiserverCompiler(tb testing.TB, name string, params bool, variables []admissionv1.Variable, mc []admissionv1.MatchCondition, fp *admissionv1.FailurePolicyType) (*plugincel.CompositedCompiler, plugincel.OptionalVariableDeclarations, matchconditions.Matcher) {
	tb.Helper()
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		tb.Fatal(err)
	}
	vars := plugincel.OptionalVariableDeclarations{HasParams: params, HasAuthorizer: true}
	named := make([]plugincel.NamedExpressionAccessor, len(variables))
	for i, v := range variables {
		named[i] = &validating.Variable{Name: v.Name, Expression: v.Expression}
	}
	compiler.CompileAndStoreVariables(named, vars, environment.StoredExpressions)
	if len(mc) == 0 {
		return compiler, vars, nil
	}
	conds := make([]plugincel.ExpressionAccessor, len(mc))
	for i := range mc {
		conds[i] = (*matchconditions.MatchCondition)(&mc[i])
	}
	return compiler, vars, matchconditions.NewMatcher(compiler.CompileCondition(conds, vars, environment.StoredExpressions), fp, "policy", "validate", name)
}

// apiserverValidator compiles vap as kube-apiserver's validating plugin
// does (validating.compilePolicy): variables, match conditions,
// validations and message expressions.
func apiserverValidator(tb testing.TB, vap *admissionv1.ValidatingAdmissionPolicy) validating.Validator {
	tb.Helper()
	compiler, vars, matcher := apiserverCompiler(tb, vap.Name, vap.Spec.ParamKind != nil, vap.Spec.Variables, vap.Spec.MatchConditions, vap.Spec.FailurePolicy)
	checks := make([]plugincel.ExpressionAccessor, len(vap.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(vap.Spec.Validations))
	for i, v := range vap.Spec.Validations {
		checks[i] = &validating.ValidationCondition{Expression: v.Expression, Message: v.Message, Reason: v.Reason}
		if v.MessageExpression != "" {
			messages[i] = &validating.MessageExpressionCondition{MessageExpression: v.MessageExpression}
		}
	}
	noVars := vars
	noVars.HasAuthorizer = false
	val := validating.NewValidator(
		compiler.CompileCondition(checks, vars, environment.StoredExpressions), matcher,
		compiler.CompileCondition(nil, vars, environment.StoredExpressions),
		compiler.CompileCondition(messages, noVars, environment.StoredExpressions),
		vap.Spec.FailurePolicy, nil)
	if err := val.CompileError(); err != nil {
		tb.Fatalf("%s: %v", vap.Name, err)
	}
	return val
}

var podsGVR = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// validate runs val on one create of pod, as the dispatcher does: a fresh
// versioned object per request (its CEL value is built per request).
func validate(val validating.Validator, pod *corev1.Pod, ns *corev1.Namespace) validating.ValidateResult {
	attr := admission.NewAttributesRecord(pod, nil, corev1.SchemeGroupVersion.WithKind("Pod"), pod.Namespace, pod.Name,
		podsGVR, "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "bench"})
	va := &admission.VersionedAttributes{Attributes: attr, VersionedKind: attr.GetKind(), VersionedObject: admission.NewLazyObject(pod)}
	return val.Validate(context.Background(), podsGVR, va, nil, ns, celconfig.RuntimeCELCostBudget, nil)
}

// benchObjects are the admission objects of the admission benchmarks'
// policy, compiled with 1000 profiles installed.
func benchObjects(tb testing.TB) Objects {
	p := benchpolicy.Policy()
	idx := &v1alpha1.SeccompProfileIndex{Installed: benchpolicy.Installed(1000)}
	objs, err := Compile(p, []v1alpha1.SeccompPolicy{*p}, "seccomp-operator", nil, idx)
	if err != nil {
		tb.Fatal(err)
	}
	return objs
}

// benchPolicy is the validating policy of benchObjects.
func benchPolicy(tb testing.TB) *admissionv1.ValidatingAdmissionPolicy {
	return benchObjects(tb).Validating
}

// benchNamespace is the namespace the benchmark policy governs.
func benchNamespace() *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "governed", Labels: map[string]string{"bench": "governed"}}}
}

// benchPod is a pod bench/admission creates, as the validating policy
// sees it after the mutating one: two containers, profile at pod level
// (RuntimeDefault for a pod the mutating policy defaulted, or an
// installed operator profile).
func benchPod(profile *corev1.SeccompProfile) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "governed", Name: "p", Labels: map[string]string{"app": "bench"}},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{SeccompProfile: profile},
			Containers:      []corev1.Container{{Name: "app", Image: "nginx"}, {Name: "sidecar", Image: "busybox"}},
		},
	}
}

func decisions(r validating.ValidateResult) (admit, deny int, msg string) {
	for _, d := range r.Decisions {
		switch d.Action {
		case validating.ActionAdmit:
			admit++
		case validating.ActionDeny:
			deny++
			msg = d.Message
		}
	}
	return
}

// TestApiserverValidatorDecides keeps the benchmark honest: the compiled
// policy admits the benchmark's pod and denies an Unconfined one, so what
// BenchmarkValidatingPolicy times is the real decision.
func TestApiserverValidatorDecides(t *testing.T) {
	val := apiserverValidator(t, benchPolicy(t))
	ns := benchNamespace()
	if a, d, msg := decisions(validate(val, benchPod(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}), ns)); d != 0 {
		t.Errorf("RuntimeDefault pod: %d admitted, %d denied (%s)", a, d, msg)
	}
	if _, d, msg := decisions(validate(val, benchPod(&corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}), ns)); d == 0 {
		t.Error("Unconfined pod not denied")
	} else if want := "container app: Unconfined"; !strings.Contains(msg, want) {
		t.Errorf("Unconfined pod: message %q does not say %q", msg, want)
	}
	if a, d, msg := decisions(validate(val, benchPod(localhost("profile-0999")), ns)); d != 0 {
		t.Errorf("installed operator profile: %d admitted, %d denied (%s)", a, d, msg)
	}
	if _, d, msg := decisions(validate(val, benchPod(localhost("profile-1000")), ns)); d == 0 || !strings.Contains(msg, "container app: localhost/operator/profile-1000.json: no SeccompProfile profile-1000 exists") {
		t.Errorf("missing profile: %d denied, message %q", d, msg)
	}
	// A container's own profile, not allowed, and the pod's, missing: one
	// message says both.
	both := benchPod(localhost("profile-1000"))
	both.Spec.Containers[1].SecurityContext = &corev1.SecurityContext{SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeUnconfined}}
	if _, d, msg := decisions(validate(val, both, ns)); d == 0 || !strings.Contains(msg, "seccomp profile not allowed for container sidecar: Unconfined (allowed: RuntimeDefault, profile-*); container app: localhost/operator/profile-1000.json: no SeccompProfile profile-1000 exists") {
		t.Errorf("not allowed and missing: %d denied, message %q", d, msg)
	}
}

func localhost(name string) *corev1.SeccompProfile {
	path := "operator/" + name + ".json"
	return &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &path}
}

// BenchmarkValidatingPolicy: the operator's validating policy against the
// cheapest possible one (bench/admission's -floor: one validation, one
// string comparison), on the benchmark's two kinds of pods.
func BenchmarkValidatingPolicy(b *testing.B) {
	ns := benchNamespace()
	operator := benchPolicy(b)
	for _, c := range []struct {
		name string
		vap  *admissionv1.ValidatingAdmissionPolicy
	}{{"operator", operator}, {"floor", benchpolicy.FloorValidating(operator)}} {
		val := apiserverValidator(b, c.vap)
		for _, p := range []struct {
			name    string
			profile *corev1.SeccompProfile
		}{{"defaulted", &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}, {"operator-profile", localhost("profile-0500")}} {
			pod := benchPod(p.profile)
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, d, msg := decisions(validate(val, pod, ns)); d != 0 {
						b.Fatal(msg)
					}
				}
			})
		}
	}
}
