// Package profile is the admission webhook for SeccompProfile: it rejects a
// profile the model's validation finds errors in, with a message naming each
// field, and passes the model's notes back as warnings. It runs the same
// validation as seccompctl and the manager, so a profile is judged the same
// way everywhere.
package profile

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/runtimeflags"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// MaxWarnings bounds the warnings returned with one request: kubectl prints
// each on its own line, and a long allow list can carry dozens of notes.
const MaxWarnings = 10

// The webhook fails open (failurePolicy=ignore) and is quick to give up
// (5 s): while the manager is down or restarting, profiles can still be
// created and updated — in GitOps pipelines, during an upgrade — and a
// profile that would have been rejected is still caught, because the
// manager runs the same validation when it reconciles (Ready=False, never
// installed) and the agent refuses what does not compile. The e2e suite
// found the fail-closed policy refusing every create while the manager pod
// was being replaced.
// +kubebuilder:webhook:path=/validate-seccomp-operator-dev-v1alpha1-seccompprofile,mutating=false,failurePolicy=ignore,sideEffects=None,groups=seccomp-operator.dev,resources=seccompprofiles,verbs=create;update,versions=v1alpha1,name=vseccompprofile.seccomp-operator.dev,admissionReviewVersions=v1,timeoutSeconds=5

// Validator validates SeccompProfiles on create and update.
type Validator struct{}

var _ admission.Validator[*v1alpha1.SeccompProfile] = Validator{}

// SetupWithManager registers the webhook on the manager's webhook server.
func SetupWithManager(mgr ctrl.Manager) error {
	if err := ctrl.NewWebhookManagedBy(mgr, &v1alpha1.SeccompProfile{}).WithValidator(Validator{}).Complete(); err != nil {
		return fmt.Errorf("register the SeccompProfile webhook: %w", err)
	}
	return nil
}

// ValidateCreate rejects a profile with errors.
func (Validator) ValidateCreate(_ context.Context, sp *v1alpha1.SeccompProfile) (admission.Warnings, error) {
	return Check(sp)
}

// ValidateUpdate rejects an update that leaves errors. (An object that was
// valid before stays editable into any valid state.)
func (Validator) ValidateUpdate(_ context.Context, _, sp *v1alpha1.SeccompProfile) (admission.Warnings, error) {
	return Check(sp)
}

// ValidateDelete allows every deletion: the agents keep a file that running
// pods still use, so deleting is never unsafe.
func (Validator) ValidateDelete(context.Context, *v1alpha1.SeccompProfile) (admission.Warnings, error) {
	return nil, nil
}

// Check validates the profile's own spec. Problems only its inheritance can
// show (a base that does not exist yet, a cycle, conflicts with the base's
// rules) are not admission errors: manifests may arrive in any order, and the
// manager reports them in the profile's Ready condition. A profile with a
// base may leave out what the base provides.
func Check(sp *v1alpha1.SeccompProfile) (admission.Warnings, error) {
	issues := profile.Validate(sp.Spec.ToProfile())
	var errs field.ErrorList
	var warnings admission.Warnings
	if len(sp.Spec.Flags) > 0 {
		// First, so that MaxWarnings never drops it: valid, but pods on a
		// node with an older runtime would not start.
		flags := make([]string, len(sp.Spec.Flags))
		for i, f := range sp.Spec.Flags {
			flags[i] = string(f)
		}
		warnings = append(warnings, runtimeflags.Warning(flags))
	}
	ownWarnings := len(warnings) // not the model's notes
	spec := field.NewPath("spec")
	for _, is := range issues {
		if sp.Spec.BaseProfileName != "" && inheritable(is) {
			continue
		}
		path := spec.Child(is.Field)
		if is.Severity == profile.SeverityError {
			errs = append(errs, field.Invalid(path, is.Value, is.Message))
			continue
		}
		if len(warnings) < MaxWarnings {
			if is.Value != "" {
				warnings = append(warnings, fmt.Sprintf("%s: %q: %s", path, is.Value, is.Message))
			} else {
				warnings = append(warnings, fmt.Sprintf("%s: %s", path, is.Message))
			}
		}
	}
	if n := countNotes(issues) - (len(warnings) - ownWarnings); n > 0 && len(warnings) == MaxWarnings {
		warnings = append(warnings, fmt.Sprintf("and %d more notes: run `seccompctl validate` on the profile for all of them", n))
	}
	if len(errs) > 0 {
		return warnings, apierrors.NewInvalid(v1alpha1.GroupVersion.WithKind("SeccompProfile").GroupKind(), sp.Name, errs)
	}
	return warnings, nil
}

// inheritable reports whether an issue is about something a base profile
// can provide: a missing default action or architecture list.
func inheritable(is profile.Issue) bool {
	return is.Value == "" && (is.Field == "defaultAction" || is.Field == "architectures")
}

func countNotes(issues profile.Issues) int {
	n := 0
	for _, is := range issues {
		if is.Severity != profile.SeverityError {
			n++
		}
	}
	return n
}
