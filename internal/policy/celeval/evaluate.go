package celeval

import (
	"context"
	"fmt"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/admission/plugin/policy/matching"
	"k8s.io/apiserver/pkg/admission/plugin/policy/mutating/patch"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	"k8s.io/apiserver/pkg/authentication/user"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	listersv1 "k8s.io/client-go/listers/core/v1"
)

// Request is one admission request.
type Request struct {
	// Object is the admitted object, typed (a *corev1.Pod, an
	// *appsv1.Deployment, ...); Evaluate does not modify it. OldObject is
	// the object before an UPDATE, nil for a CREATE.
	Object, OldObject runtime.Object
	Resource          string // "pods", "deployments", ...
	SubResource       string
	Operation         admission.Operation
	// Namespace is the request's namespace (its labels select the
	// bindings; the policies read it as namespaceObject).
	Namespace *corev1.Namespace
	Username  string
	// Params is the object a binding's paramRef names (nil: none exists).
	Params runtime.Object
}

// Verdict is a failed validation of a validating policy, under one action
// of its binding.
type Verdict struct {
	Policy, Binding string
	Action          admissionv1.ValidationAction
	Message         string
}

// Result is what the policies did with a request.
type Result struct {
	// Object is the admitted object as the mutating policies left it (a
	// copy of the request's Object when none changed it).
	Object runtime.Object
	// Mutated is whether a mutating policy changed the object (false:
	// Object equals the request's Object).
	Mutated bool
	// Verdicts are the failed validations, in policy-name order.
	Verdicts []Verdict
}

// Denied is the apiserver's message for the first denying verdict ("" when
// none denies): the apiserver reports only that one.
func (r Result) Denied() string {
	for _, v := range r.Verdicts {
		if v.Action == admissionv1.Deny {
			return fmt.Sprintf("ValidatingAdmissionPolicy '%s' with binding '%s' denied request: %s", v.Policy, v.Binding, v.Message)
		}
	}
	return ""
}

// Warnings are the warnings the apiserver returns, worded as it words them.
func (r Result) Warnings() []string {
	var out []string
	for _, v := range r.Verdicts {
		if v.Action == admissionv1.Warn {
			out = append(out, fmt.Sprintf("Validation failed for ValidatingAdmissionPolicy '%s' with binding '%s': %s", v.Policy, v.Binding, v.Message))
		}
	}
	return out
}

// Messages are the messages of the verdicts under action.
func (r Result) Messages(action admissionv1.ValidationAction) []string {
	var out []string
	for _, v := range r.Verdicts {
		if v.Action == action {
			out = append(out, v.Message)
		}
	}
	return out
}

var objectInterfaces = admission.NewObjectInterfacesFromScheme(clientgoscheme.Scheme)

// oneNamespace is a namespace lister that knows the request's namespace
// only: the apiserver's matcher reads the namespace's labels through it.
type oneNamespace struct{ ns *corev1.Namespace }

func (o oneNamespace) List(sel labels.Selector) ([]*corev1.Namespace, error) {
	if o.ns != nil && sel.Matches(labels.Set(o.ns.Labels)) {
		return []*corev1.Namespace{o.ns}, nil
	}
	return nil, nil
}

func (o oneNamespace) Get(name string) (*corev1.Namespace, error) {
	if o.ns == nil || o.ns.Name != name {
		return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
	}
	return o.ns, nil
}

var _ listersv1.NamespaceLister = oneNamespace{}

// Evaluate runs the mutating policies, then the validating ones on the
// mutated object, as the apiserver's admission chain does for a request
// that no other admission plugin changes. A policy whose evaluation fails
// applies its failure policy: Fail makes it an error here, as it makes the
// apiserver refuse the request.
func (ps *Programs) Evaluate(ctx context.Context, req Request) (Result, error) {
	gvks, _, err := clientgoscheme.Scheme.ObjectKinds(req.Object)
	if err != nil {
		return Result{}, err
	}
	gvk := gvks[0]
	gvr := gvk.GroupVersion().WithResource(req.Resource)
	// The object as the apiserver's conversion to the versioned object
	// leaves it: with its type set. Nothing below writes to it (the
	// patchers encode it, the expressions read it), so it is copied only
	// when its type must be set, and at the end when no policy changed it.
	obj := req.Object
	if obj.GetObjectKind().GroupVersionKind() != gvk {
		obj = obj.DeepCopyObject()
		obj.GetObjectKind().SetGroupVersionKind(gvk)
	}
	name, ns := "", ""
	if req.Namespace != nil {
		ns = req.Namespace.Name
	}
	if m, ok := obj.(metav1.Object); ok {
		name = m.GetName()
	}
	var opts runtime.Object = &metav1.CreateOptions{}
	if req.Operation == admission.Update {
		opts = &metav1.UpdateOptions{}
	}
	attr := admission.NewAttributesRecord(obj, req.OldObject, gvk, ns, name, gvr, req.SubResource, req.Operation, opts, false, &user.DefaultInfo{Name: req.Username})
	va := &admission.VersionedAttributes{Attributes: attr, VersionedKind: gvk, VersionedObject: admission.NewLazyObject(obj)}
	if req.OldObject != nil {
		va.VersionedOldObject = admission.NewLazyObject(req.OldObject)
	}
	m := matching.NewMatcher(oneNamespace{req.Namespace}, nil)

	res := Result{}
	for i := range ps.mutating {
		p := &ps.mutating[i]
		resource, ok, err := matches(m, attr, p.match, p.bind)
		if err != nil || !ok {
			if err = failure(p.Policy.Spec.FailurePolicy, p.Policy.Name, err); err != nil {
				return Result{}, err
			}
			continue
		}
		cctx := p.compiler.CreateContext(ctx)
		if p.matcher != nil {
			r := p.matcher.Match(cctx, va, nil, nil)
			if r.Error != nil {
				if err := failure(p.Policy.Spec.FailurePolicy, p.Policy.Name, r.Error); err != nil {
					return Result{}, err
				}
				continue
			}
			if !r.Matches {
				continue
			}
		}
		// The apiserver's runtime cost budget stays. Turning the cost
		// tracking off is not possible while the programs stay the
		// apiserver's: its CEL environment builds every program with
		// OptTrackCost and a per-call CostLimit, and its evaluation
		// (plugin/cel's activation) refuses a result that carries no
		// cost. Nor would an unlimited budget save anything: the cost is
		// counted either way, the budget only compared. A budget hit is
		// impossible for the compiled policies anyway, whose estimated
		// cost the tests check against the budgets at compile time
		// (internal/policy's celcost_test.go, mutcost_test.go).
		for _, patcher := range p.patchers {
			out, err := patcher.Patch(cctx, patch.Request{MatchedResource: resource, VersionedAttributes: va, ObjectInterfaces: objectInterfaces,
				Namespace: req.Namespace}, celconfig.RuntimeCELCostBudget)
			if err == nil && out.GetObjectKind().GroupVersionKind() != gvk {
				// Already of the request's version and kind (decoded from
				// the patched JSON, which carries both), the object is
				// not copied again by a conversion.
				out, err = objectInterfaces.GetObjectConvertor().ConvertToVersion(out, gvk.GroupVersion())
			}
			if err != nil {
				if err := failure(p.Policy.Spec.FailurePolicy, p.Policy.Name, err); err != nil {
					return Result{}, err
				}
				continue
			}
			va.UpdateObject(out)
		}
	}
	res.Object = va.VersionedObject.Object()
	res.Mutated = res.Object != obj
	if res.Object == req.Object {
		res.Object = res.Object.DeepCopyObject()
	}

	for i := range ps.validating {
		p := &ps.validating[i]
		resource, ok, err := matches(m, attr, p.match, p.bind)
		if err != nil || !ok {
			if err = failure(p.Policy.Spec.FailurePolicy, p.Policy.Name, err); err != nil {
				return Result{}, err
			}
			continue
		}
		var params runtime.Object
		if ref := p.Binding.Spec.ParamRef; ref != nil {
			if req.Params == nil {
				if ref.ParameterNotFoundAction != nil && *ref.ParameterNotFoundAction == admissionv1.AllowAction {
					continue
				}
				res.Verdicts = append(res.Verdicts, Verdict{Policy: p.Policy.Name, Binding: p.Binding.Name, Action: admissionv1.Deny,
					Message: fmt.Sprintf("failed to configure binding: no params found for policy binding with `Deny` parameterNotFoundAction")})
				continue
			}
			params = req.Params
		}
		for _, msg := range p.validator.validate(ctx, resource, va, params, req.Namespace) {
			for _, act := range p.Binding.Spec.ValidationActions {
				res.Verdicts = append(res.Verdicts, Verdict{Policy: p.Policy.Name, Binding: p.Binding.Name, Action: act, Message: msg})
			}
		}
	}
	return res, nil
}

// matches is the apiserver's matching of a policy and its binding
// (resource rules, namespace and object selectors), and the resource
// matched.
func matches(m *matching.Matcher, attr admission.Attributes, pol, bind *criteria) (schema.GroupVersionResource, bool, error) {
	ok, resource, _, err := m.Matches(attr, objectInterfaces, pol)
	if err != nil || !ok {
		return resource, false, err
	}
	ok, _, _, err = m.Matches(attr, objectInterfaces, bind)
	return resource, ok, err
}

// failure applies a policy's failure policy to err (nil: nothing failed).
func failure(fp *admissionv1.FailurePolicyType, policy string, err error) error {
	if err == nil || fp != nil && *fp == admissionv1.Ignore {
		return nil
	}
	return fmt.Errorf("admission policy %s: %w", policy, err)
}
