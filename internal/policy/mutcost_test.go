package policy

import (
	"context"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/cel/environment"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	"github.com/seccomp-operator/seccomp-operator/internal/policy/benchpolicy"
)

// The mutating policy's cost per pod create, measured with the apiserver's
// own code (k8s.io/apiserver's mutating plugin: its compiler, its JSON
// patcher, and the dispatcher's steps around them), like
// BenchmarkValidatingPolicy for the validating one.
//
//	go test -run XXX -bench MutatingPolicy -benchmem ./internal/policy/

// apiserverMutator is a MutatingAdmissionPolicy compiled as
// kube-apiserver's mutating plugin does (mutating.compilePolicy, which is
// not exported): apiserverCompiler, then a JSON patcher per mutation.
type apiserverMutator struct {
	compiler *plugincel.CompositedCompiler
	matcher  matchconditions.Matcher
	patchers []patch.Patcher
}

func newApiserverMutator(tb testing.TB, mp *admissionv1.MutatingAdmissionPolicy) *apiserverMutator {
	tb.Helper()
	compiler, vars, matcher := apiserverCompiler(tb, mp.Name, mp.Spec.ParamKind != nil, mp.Spec.Variables, mp.Spec.MatchConditions, mp.Spec.FailurePolicy)
	m := &apiserverMutator{compiler: compiler, matcher: matcher}
	patchVars := vars
	patchVars.HasPatchTypes = true
	for _, mu := range mp.Spec.Mutations {
		if mu.PatchType != admissionv1.PatchTypeJSONPatch {
			tb.Fatalf("%s: mutation of type %s: the benchmark runs JSON patches", mp.Name, mu.PatchType)
		}
		ev := compiler.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: mu.JSONPatch.Expression}, patchVars, environment.StoredExpressions)
		if errs := ev.CompilationErrors(); len(errs) > 0 {
			tb.Fatalf("%s: %v", mp.Name, errs)
		}
		m.patchers = append(m.patchers, patch.NewJSONPatcher(ev))
	}
	return m
}

var objectInterfaces = admission.NewObjectInterfacesFromScheme(clientgoscheme.Scheme)

// mutate runs m on one create of pod as the dispatcher does (match
// conditions, each patch, the conversion back to the typed object, the
// comparison that decides re-invocation) and returns the pod it admits
// and whether it changed it. The caller's pod is not modified.
func (m *apiserverMutator) mutate(tb testing.TB, pod *corev1.Pod, ns *corev1.Namespace) (*corev1.Pod, bool) {
	obj := pod.DeepCopy()
	obj.APIVersion, obj.Kind = "v1", "Pod" // as the apiserver's conversion to the versioned object leaves it
	attr := admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind("Pod"), pod.Namespace, pod.Name,
		podsGVR, "", admission.Create, &metav1.CreateOptions{}, false, &user.DefaultInfo{Name: "bench"})
	va := &admission.VersionedAttributes{Attributes: attr, VersionedKind: attr.GetKind(), VersionedObject: admission.NewLazyObject(obj)}
	ctx := m.compiler.CreateContext(context.Background())
	if m.matcher != nil {
		r := m.matcher.Match(ctx, va, nil, nil)
		if r.Error != nil {
			tb.Fatal(r.Error)
		}
		if !r.Matches {
			return obj, false
		}
	}
	before := va.VersionedObject.Object()
	for _, p := range m.patchers {
		out, err := p.Patch(ctx, patch.Request{MatchedResource: podsGVR, VersionedAttributes: va, ObjectInterfaces: objectInterfaces, Namespace: ns}, celconfig.RuntimeCELCostBudget)
		if err != nil {
			tb.Fatal(err)
		}
		if out, err = objectInterfaces.GetObjectConvertor().ConvertToVersion(out, corev1.SchemeGroupVersion); err != nil {
			tb.Fatal(err)
		}
		va.UpdateObject(out)
	}
	after := va.VersionedObject.Object()
	return after.(*corev1.Pod), !equality.Semantic.DeepEqual(before, after)
}

// benchMutating is the mutating policy of benchObjects, and the
// hand-written reference of bench/admission -floor.
func benchMutating(tb testing.TB) (operator, floor *admissionv1.MutatingAdmissionPolicy) {
	m := benchObjects(tb).Mutating
	return m, benchpolicy.FloorMutating(m, false)
}

// TestApiserverMutatorDefaults keeps BenchmarkMutatingPolicy honest: both
// policies write the pod-level default into the benchmark's pod and leave
// a pod that has one alone.
func TestApiserverMutatorDefaults(t *testing.T) {
	ns := benchNamespace()
	operator, floor := benchMutating(t)
	for _, mp := range []*admissionv1.MutatingAdmissionPolicy{operator, floor} {
		m := newApiserverMutator(t, mp)
		got, changed := m.mutate(t, benchPod(nil), ns)
		if sc := got.Spec.SecurityContext; !changed || sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
			t.Errorf("%s: pod without a profile: changed %v, pod security context %+v", mp.Name, changed, got.Spec.SecurityContext)
		}
		for _, c := range got.Spec.Containers {
			if c.SecurityContext != nil {
				t.Errorf("%s: container %s given a security context %+v", mp.Name, c.Name, c.SecurityContext)
			}
		}
		if _, changed := m.mutate(t, benchPod(localhost("profile-0500")), ns); changed {
			t.Errorf("%s: pod with a profile changed", mp.Name)
		}
	}
}

// BenchmarkMutatingPolicy: the operator's mutating policy against the
// reference of bench/admission -floor, on a pod the policy defaults and on
// one it leaves alone.
func BenchmarkMutatingPolicy(b *testing.B) {
	ns := benchNamespace()
	operator, floor := benchMutating(b)
	for _, c := range []struct {
		name string
		mp   *admissionv1.MutatingAdmissionPolicy
	}{{"operator", operator}, {"floor", floor}} {
		m := newApiserverMutator(b, c.mp)
		for _, p := range []struct {
			name    string
			profile *corev1.SeccompProfile
			changes bool
		}{{"defaulted", nil, true}, {"operator-profile", localhost("profile-0500"), false}} {
			pod := benchPod(p.profile)
			b.Run(c.name+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, changed := m.mutate(b, pod, ns); changed != p.changes {
						b.Fatalf("changed %v", changed)
					}
				}
			})
		}
	}
}
