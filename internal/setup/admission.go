// Package setup wires the manager's admission machinery, the same way for
// the manager binary and for the integration tests: SeccompPolicies and
// ProfileBindings enforced by the apiserver's own admission policies
// (native), or by the fallback webhook on clusters without them.
package setup

import (
	"context"
	"fmt"

	"github.com/go-logr/logr"
	admissionregv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/controller"
	"github.com/seccomp-operator/seccomp-operator/internal/webhook/pods"
)

// Admission paths.
const (
	PathAuto    = "auto"    // native when the apiserver serves it, else the webhook
	PathNative  = "native"  // the apiserver's MutatingAdmissionPolicy + ValidatingAdmissionPolicy
	PathWebhook = "webhook" // the fallback webhook
)

// AdmissionOptions configure Admission.
type AdmissionOptions struct {
	Path              string
	OperatorNamespace string
	// For the fallback webhook (its configuration is pods.DefaultConfigName,
	// the one name the manager's RBAC and cache allow): how the apiserver
	// reaches the manager (Service, or URL outside a cluster), and the CA
	// bundle to trust.
	Service *admissionregv1.ServiceReference
	URL     string
	Bundle  func() []byte
	// ServeWebhook: the manager runs a webhook server (on the native path
	// the handlers are still served when it does; the webhook path needs
	// it).
	ServeWebhook bool
}

// Admission sets up the policy, binding and profile-index reconcilers and,
// on the webhook path, the fallback webhook and its configuration. It
// returns the path in use.
func Admission(mgr ctrl.Manager, o AdmissionOptions, log logr.Logger) (string, error) {
	native := served(mgr, "MutatingAdmissionPolicy") && served(mgr, "ValidatingAdmissionPolicy")
	path := o.Path
	switch path {
	case PathAuto, "":
		path = PathWebhook
		if native {
			path = PathNative
		}
	case PathNative:
		if !native {
			return "", fmt.Errorf("--admission=native: the apiserver does not serve admissionregistration.k8s.io/v1 MutatingAdmissionPolicy and ValidatingAdmissionPolicy (Kubernetes 1.36+); use --admission=webhook or auto")
		}
	case PathWebhook:
	default:
		return "", fmt.Errorf("unknown admission path %q (auto, native or webhook)", path)
	}
	hook := path == PathWebhook
	if hook && !o.ServeWebhook {
		return "", fmt.Errorf("the fallback webhook path needs the webhook server (--webhooks)")
	}
	log.Info("admission path", "path", path, "nativeServed", native)
	if err := (&controller.PolicyReconciler{Client: mgr.GetClient(), OperatorNamespace: o.OperatorNamespace, Webhook: hook, NativeAPI: native}).SetupWithManager(mgr); err != nil {
		return "", fmt.Errorf("set up the policy reconciler: %w", err)
	}
	if err := (&controller.BindingReconciler{Client: mgr.GetClient(), Webhook: hook, NativeAPI: native}).SetupWithManager(mgr); err != nil {
		return "", fmt.Errorf("set up the binding reconciler: %w", err)
	}
	if err := (&controller.ProfileIndexReconciler{Client: mgr.GetClient(), Reader: mgr.GetAPIReader()}).SetupWithManager(mgr); err != nil {
		return "", fmt.Errorf("set up the profile index: %w", err)
	}
	// The webhook's handlers are served on both paths, so that a
	// configuration still pointing at them (a switch between paths, a
	// rolling update) gets the same decisions rather than 404s; the
	// configuration itself exists only on the webhook path.
	if hook {
		// Start the informers the webhook reads from with the manager,
		// not at the first request.
		for _, obj := range []client.Object{&corev1.Namespace{}, &v1alpha1.SeccompPolicy{}, &v1alpha1.ProfileBinding{}, &v1alpha1.SeccompProfileIndex{}} {
			if _, err := mgr.GetCache().GetInformer(context.Background(), obj); err != nil {
				return "", fmt.Errorf("informer for %T: %w", obj, err)
			}
		}
	}
	if o.ServeWebhook {
		h := &pods.Handler{Reader: mgr.GetClient(), APIReader: mgr.GetAPIReader(), OperatorNamespace: o.OperatorNamespace}
		h.Serve(mgr.GetWebhookServer())
	}
	if err := (&pods.ConfigReconciler{Client: mgr.GetClient(), Active: hook, Name: pods.DefaultConfigName, OperatorNamespace: o.OperatorNamespace,
		Service: o.Service, URL: o.URL, Bundle: o.Bundle}).SetupWithManager(mgr); err != nil {
		return "", fmt.Errorf("set up the fallback webhook configuration: %w", err)
	}
	return path, nil
}

func served(mgr ctrl.Manager, kind string) bool {
	_, err := mgr.GetRESTMapper().RESTMapping(schema.GroupKind{Group: admissionregv1.GroupName, Kind: kind}, "v1")
	return err == nil
}
