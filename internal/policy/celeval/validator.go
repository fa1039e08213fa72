package celeval

import (
	"context"
	"errors"
	"fmt"
	"strings"

	celgo "github.com/google/cel-go/cel"
	celtypes "github.com/google/cel-go/common/types"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/admission"
	plugincel "k8s.io/apiserver/pkg/admission/plugin/cel"
	"k8s.io/apiserver/pkg/admission/plugin/webhook/matchconditions"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
	apiservercel "k8s.io/apiserver/pkg/cel"
)

// This file is the one part of the validating-policy plugin celeval does
// not import: k8s.io/apiserver's package validating also holds the
// plugin's dispatcher, informers and metrics, whose package
// initialisation links gRPC and OpenTelemetry into every binary that
// imports it (tens of MB). What it holds instead is the plugin's reading
// of one validation's outcome (validating.validator.Validate, v0.37.2):
// which message a failed validation gets. The expressions are still
// compiled and run by the apiserver's own packages (plugin/cel,
// matchconditions), and the integration test TestPolicyCaseTable compares
// every decision and message with a real kube-apiserver, which catches a
// version whose plugin words them otherwise.

// The expression kinds of a validating policy, with the result types the
// apiserver checks them against.
type (
	variable   struct{ name, expression string }
	validation struct {
		expression, message string
	}
	messageExpression struct{ expression string }
)

func (v *variable) GetExpression() string          { return v.expression }
func (v *variable) GetName() string                { return v.name }
func (v *variable) ReturnTypes() []*celgo.Type     { return []*celgo.Type{celgo.AnyType, celgo.DynType} }
func (v *validation) GetExpression() string        { return v.expression }
func (v *validation) ReturnTypes() []*celgo.Type   { return []*celgo.Type{celgo.BoolType} }
func (m *messageExpression) GetExpression() string { return m.expression }
func (m *messageExpression) ReturnTypes() []*celgo.Type {
	return []*celgo.Type{celgo.StringType}
}

// validator runs a validating policy's match conditions, validations and
// message expressions.
type validator struct {
	matcher     matchconditions.Matcher // nil: no match conditions
	validations plugincel.ConditionEvaluator
	messages    plugincel.ConditionEvaluator
	failPolicy  admissionv1.FailurePolicyType
}

// validate is the messages of the failed validations, or the error that
// the failure policy decides (Fail: denied with the error's message;
// Ignore: admitted).
func (v *validator) validate(ctx context.Context, resource schema.GroupVersionResource, va *admission.VersionedAttributes, params runtime.Object, ns *corev1.Namespace) (failed []string) {
	onError := func(err error) []string {
		if v.failPolicy == admissionv1.Ignore {
			return nil
		}
		return []string{err.Error()}
	}
	if v.matcher != nil {
		r := v.matcher.Match(ctx, va, params, nil)
		if r.Error != nil {
			return onError(r.Error)
		}
		if !r.Matches {
			return nil
		}
	}
	req := plugincel.CreateAdmissionRequest(va.Attributes, metav1.GroupVersionResource(resource), metav1.GroupVersionKind(va.VersionedKind))
	nsObject := plugincel.CreateNamespaceObject(ns)
	results, budget, err := v.validations.ForInput(ctx, va, req, plugincel.OptionalVariableBindings{VersionedParams: params}, nsObject, celconfig.RuntimeCELCostBudget)
	if err != nil {
		return onError(err)
	}
	messages, _, msgErr := v.messages.ForInput(ctx, va, req, plugincel.OptionalVariableBindings{VersionedParams: params}, nsObject, budget)
	for i, r := range results {
		c := r.ExpressionAccessor.(*validation)
		switch {
		case r.Error != nil:
			failed = append(failed, onError(r.Error)...)
		case errors.Is(msgErr, apiservercel.ErrInternal) || errors.Is(msgErr, apiservercel.ErrOutOfBudget):
			failed = append(failed, onError(fmt.Errorf("failed messageExpression: %s", msgErr))...)
		case r.EvalResult != celtypes.True:
			failed = append(failed, message(c, messages, i))
		}
	}
	return failed
}

// message is the message of the failed validation c (the i-th): its
// messageExpression's when that gives a usable one, else its message,
// else the expression.
func message(c *validation, messages []plugincel.EvaluationResult, i int) string {
	var m string
	if i < len(messages) && messages[i].Error == nil && messages[i].EvalResult != nil {
		if s, ok := messages[i].EvalResult.Value().(string); ok {
			m = strings.TrimSpace(s)
			if len(m) > celconfig.MaxEvaluatedMessageExpressionSizeBytes || strings.Contains(m, "\n") {
				m = ""
			}
		}
	}
	if m == "" {
		m = strings.TrimSpace(c.message)
	}
	if m == "" {
		m = "failed expression: " + strings.TrimSpace(c.expression)
	}
	return m
}
