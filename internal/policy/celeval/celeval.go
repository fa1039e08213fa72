// Package celeval evaluates MutatingAdmissionPolicies and
// ValidatingAdmissionPolicies (with their bindings) in-process, with
// kube-apiserver's own admission-policy code from k8s.io/apiserver:
// the same compiler, match conditions, JSON patcher and validator, used
// the way its mutating and validating dispatchers use them. The operator's
// fallback webhook and `seccompctl audit` decide with it, so an admission
// rule exists once, as the policies internal/policy compiles.
//
// It knows nothing of seccomp: it runs whatever policies it is given on one
// admission request.
package celeval

import (
	"cmp"
	"fmt"
	"slices"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	"k8s.io/apiserver/pkg/cel/environment"
	"k8s.io/utils/ptr"
)

// Mutating is a MutatingAdmissionPolicy and its binding.
type Mutating struct {
	Policy  *admissionv1.MutatingAdmissionPolicy
	Binding *admissionv1.MutatingAdmissionPolicyBinding
}

// Validating is a ValidatingAdmissionPolicy and its binding.
type Validating struct {
	Policy  *admissionv1.ValidatingAdmissionPolicy
	Binding *admissionv1.ValidatingAdmissionPolicyBinding
}

// Programs are compiled policies, safe for concurrent use.
type Programs struct {
	mutating   []mutatingProgram
	validating []validatingProgram
}

type mutatingProgram struct {
	Mutating
	match, bind *criteria
	compiler    *plugincel.CompositedCompiler
	matcher     matchconditions.Matcher // nil: no match conditions
	patchers    []patch.Patcher
}

type validatingProgram struct {
	Validating
	match, bind *criteria
	validator   *validator
}

// Compile compiles the policies as kube-apiserver's plugins do (their
// compilePolicy, which is not exported). A policy whose expressions do not
// compile is an error here, where the apiserver would apply its failure
// policy on every request: the policies given are generated, and a
// generator's mistake must show.
//
// The apiserver runs matching mutating policies in no defined order; they
// run here in name order, and policies meant to work together must not
// depend on it either.
func Compile(mut []Mutating, val []Validating) (*Programs, error) {
	ps := &Programs{}
	for _, m := range mut {
		m = Mutating{Policy: m.Policy.DeepCopy(), Binding: m.Binding.DeepCopy()}
		m.Policy.Spec.MatchConstraints = defaulted(m.Policy.Spec.MatchConstraints)
		m.Binding.Spec.MatchResources = defaulted(m.Binding.Spec.MatchResources)
		p, err := compileMutating(m)
		if err != nil {
			return nil, err
		}
		if p.match, err = newCriteria(m.Policy.Spec.MatchConstraints); err != nil {
			return nil, fmt.Errorf("MutatingAdmissionPolicy %s: %w", m.Policy.Name, err)
		}
		if p.bind, err = newCriteria(m.Binding.Spec.MatchResources); err != nil {
			return nil, fmt.Errorf("MutatingAdmissionPolicyBinding %s: %w", m.Binding.Name, err)
		}
		ps.mutating = append(ps.mutating, p)
	}
	for _, v := range val {
		v = Validating{Policy: v.Policy.DeepCopy(), Binding: v.Binding.DeepCopy()}
		v.Policy.Spec.MatchConstraints = defaulted(v.Policy.Spec.MatchConstraints)
		v.Binding.Spec.MatchResources = defaulted(v.Binding.Spec.MatchResources)
		p, err := compileValidating(v)
		if err != nil {
			return nil, err
		}
		if p.match, err = newCriteria(v.Policy.Spec.MatchConstraints); err != nil {
			return nil, fmt.Errorf("ValidatingAdmissionPolicy %s: %w", v.Policy.Name, err)
		}
		if p.bind, err = newCriteria(v.Binding.Spec.MatchResources); err != nil {
			return nil, fmt.Errorf("ValidatingAdmissionPolicyBinding %s: %w", v.Binding.Name, err)
		}
		ps.validating = append(ps.validating, p)
	}
	slices.SortStableFunc(ps.mutating, func(a, b mutatingProgram) int { return cmp.Compare(a.Policy.Name, b.Policy.Name) })
	slices.SortStableFunc(ps.validating, func(a, b validatingProgram) int { return cmp.Compare(a.Policy.Name, b.Policy.Name) })
	return ps, nil
}

func variables(vs []admissionv1.Variable) []plugincel.NamedExpressionAccessor {
	out := make([]plugincel.NamedExpressionAccessor, len(vs))
	for i, v := range vs {
		out[i] = &variable{name: v.Name, expression: v.Expression}
	}
	return out
}

func conditions(mc []admissionv1.MatchCondition) []plugincel.ExpressionAccessor {
	out := make([]plugincel.ExpressionAccessor, len(mc))
	for i := range mc {
		out[i] = (*matchconditions.MatchCondition)(&mc[i])
	}
	return out
}

func compileMutating(m Mutating) (mutatingProgram, error) {
	mp := m.Policy
	opts := plugincel.OptionalVariableDeclarations{HasParams: mp.Spec.ParamKind != nil, HasAuthorizer: true}
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return mutatingProgram{}, fmt.Errorf("MutatingAdmissionPolicy %s: %w", mp.Name, err)
	}
	compiler.CompileAndStoreVariables(variables(mp.Spec.Variables), opts, environment.StoredExpressions)
	p := mutatingProgram{Mutating: m, compiler: compiler}
	if len(mp.Spec.MatchConditions) > 0 {
		cond := compiler.CompileCondition(conditions(mp.Spec.MatchConditions), opts, environment.StoredExpressions)
		if errs := cond.CompilationErrors(); len(errs) > 0 {
			return mutatingProgram{}, fmt.Errorf("MutatingAdmissionPolicy %s: match conditions: %v", mp.Name, errs)
		}
		p.matcher = matchconditions.NewMatcher(cond, mp.Spec.FailurePolicy, "policy", "validate", mp.Name)
	}
	patchOpts := opts
	patchOpts.HasPatchTypes = true
	for i, mu := range mp.Spec.Mutations {
		var ev plugincel.MutatingEvaluator
		switch {
		case mu.PatchType == admissionv1.PatchTypeJSONPatch && mu.JSONPatch != nil:
			ev = compiler.CompileMutatingEvaluator(&patch.JSONPatchCondition{Expression: mu.JSONPatch.Expression}, patchOpts, environment.StoredExpressions)
			p.patchers = append(p.patchers, patch.NewJSONPatcher(ev))
		case mu.PatchType == admissionv1.PatchTypeApplyConfiguration && mu.ApplyConfiguration != nil:
			ev = compiler.CompileMutatingEvaluator(&patch.ApplyConfigurationCondition{Expression: mu.ApplyConfiguration.Expression}, patchOpts, environment.StoredExpressions)
			p.patchers = append(p.patchers, patch.NewApplyConfigurationPatcher(ev))
		default:
			return mutatingProgram{}, fmt.Errorf("MutatingAdmissionPolicy %s: mutation %d has no patch of type %s", mp.Name, i, mu.PatchType)
		}
		if errs := ev.CompilationErrors(); len(errs) > 0 {
			return mutatingProgram{}, fmt.Errorf("MutatingAdmissionPolicy %s: mutation %d: %v", mp.Name, i, errs)
		}
	}
	return p, nil
}

func compileValidating(v Validating) (validatingProgram, error) {
	vap := v.Policy
	opts := plugincel.OptionalVariableDeclarations{HasParams: vap.Spec.ParamKind != nil, HasAuthorizer: true}
	messageOpts := opts
	messageOpts.HasAuthorizer = false
	compiler, err := plugincel.NewCompositedCompiler(environment.MustBaseEnvSet(environment.DefaultCompatibilityVersion()))
	if err != nil {
		return validatingProgram{}, fmt.Errorf("ValidatingAdmissionPolicy %s: %w", vap.Name, err)
	}
	compiler.CompileAndStoreVariables(variables(vap.Spec.Variables), opts, environment.StoredExpressions)
	if len(vap.Spec.AuditAnnotations) > 0 {
		// Not read by Evaluate, nor generated by internal/policy.
		return validatingProgram{}, fmt.Errorf("ValidatingAdmissionPolicy %s: auditAnnotations are not supported", vap.Name)
	}
	var compiled []plugincel.ConditionEvaluator
	compile := func(exprs []plugincel.ExpressionAccessor, opts plugincel.OptionalVariableDeclarations) plugincel.ConditionEvaluator {
		c := compiler.CompileCondition(exprs, opts, environment.StoredExpressions)
		compiled = append(compiled, c)
		return c
	}
	val := &validator{failPolicy: ptr.Deref(vap.Spec.FailurePolicy, admissionv1.Fail)}
	if len(vap.Spec.MatchConditions) > 0 {
		val.matcher = matchconditions.NewMatcher(compile(conditions(vap.Spec.MatchConditions), opts), vap.Spec.FailurePolicy, "policy", "validate", vap.Name)
	}
	checks := make([]plugincel.ExpressionAccessor, len(vap.Spec.Validations))
	messages := make([]plugincel.ExpressionAccessor, len(vap.Spec.Validations))
	for i, c := range vap.Spec.Validations {
		checks[i] = &validation{expression: c.Expression, message: c.Message}
		if c.MessageExpression != "" {
			messages[i] = &messageExpression{expression: c.MessageExpression}
		}
	}
	val.validations = compile(checks, opts)
	val.messages = compile(messages, messageOpts)
	for _, c := range compiled {
		if errs := c.CompilationErrors(); len(errs) > 0 {
			return validatingProgram{}, fmt.Errorf("ValidatingAdmissionPolicy %s: %v", vap.Name, errs)
		}
	}
	return validatingProgram{Validating: v, validator: val}, nil
}

// defaulted is m with the defaults the apiserver gives a stored policy or
// binding: selectors that select everything, matchPolicy Equivalent.
func defaulted(m *admissionv1.MatchResources) *admissionv1.MatchResources {
	if m == nil {
		m = &admissionv1.MatchResources{}
	}
	if m.NamespaceSelector == nil {
		m.NamespaceSelector = &metav1.LabelSelector{}
	}
	if m.ObjectSelector == nil {
		m.ObjectSelector = &metav1.LabelSelector{}
	}
	if m.MatchPolicy == nil {
		m.MatchPolicy = ptr.To(admissionv1.Equivalent)
	}
	return m
}

// Merge returns the programs of ps whose policy's labels keep holds for,
// in name order.
func Merge(ps []*Programs, keep func(labels map[string]string) bool) *Programs {
	out := &Programs{}
	for _, p := range ps {
		for _, m := range p.mutating {
			if keep(m.Policy.Labels) {
				out.mutating = append(out.mutating, m)
			}
		}
		for _, v := range p.validating {
			if keep(v.Policy.Labels) {
				out.validating = append(out.validating, v)
			}
		}
	}
	if len(ps) > 1 {
		slices.SortStableFunc(out.mutating, func(a, b mutatingProgram) int { return cmp.Compare(a.Policy.Name, b.Policy.Name) })
		slices.SortStableFunc(out.validating, func(a, b validatingProgram) int { return cmp.Compare(a.Policy.Name, b.Policy.Name) })
	}
	return out
}

// criteria are the match resources of a policy or binding with their
// selectors parsed once, not on every request (the apiserver's own
// matching.MatchCriteria parses them per request).
type criteria struct {
	resources   *admissionv1.MatchResources
	ns, objects labels.Selector
}

func newCriteria(m *admissionv1.MatchResources) (*criteria, error) {
	c := &criteria{resources: m}
	var err error
	if c.ns, err = metav1.LabelSelectorAsSelector(m.NamespaceSelector); err != nil {
		return nil, fmt.Errorf("namespaceSelector: %w", err)
	}
	if c.objects, err = metav1.LabelSelectorAsSelector(m.ObjectSelector); err != nil {
		return nil, fmt.Errorf("objectSelector: %w", err)
	}
	return c, nil
}

func (c *criteria) GetParsedNamespaceSelector() (labels.Selector, error) { return c.ns, nil }
func (c *criteria) GetParsedObjectSelector() (labels.Selector, error)    { return c.objects, nil }
func (c *criteria) GetMatchResources() admissionv1.MatchResources        { return *c.resources }
