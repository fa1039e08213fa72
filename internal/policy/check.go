package policy

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
)

// CheckPolicy reports what in p's spec no admission policy can be compiled
// from, naming the field and what to write instead; nil for a policy that
// compiles. The CRD schema refuses the same names (the rule has one home,
// internal/nodepath), but objects stored under an older schema, and label
// selectors (whose rules the schema does not repeat), still reach the
// manager. A policy this refuses takes no part in admission at all: it
// governs no namespace and precedes no other policy, in Compile and in
// Evaluate alike, so one typo never blocks the pods of other policies.
func CheckPolicy(p *v1alpha1.SeccompPolicy) error {
	if _, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err != nil {
		return fmt.Errorf("spec.namespaceSelector: %w", err)
	}
	// The exempt namespaces become values of the selector the admission
	// objects are bound with; one that is no label value would make the
	// apiserver refuse those objects (and, on the fallback path, the one
	// webhook configuration every policy shares).
	if _, err := metav1.LabelSelectorAsSelector(NamespaceSelector(p, "")); err != nil {
		return fmt.Errorf("spec.exemptions.namespaces: %w: write namespace names", err)
	}
	if _, err := defaultProfile(p.Spec.DefaultProfile); err != nil {
		return err
	}
	for i, a := range p.Spec.AllowedProfiles {
		if err := checkAllowed(string(a)); err != nil {
			return fmt.Errorf("spec.allowedProfiles[%d]: %w", i, err)
		}
	}
	return nil
}

// checkAllowed checks one allowedProfiles entry: the names and name
// prefixes must be ones a SeccompProfile can have; "localhost/" paths are
// compared as text and need nothing more.
func checkAllowed(s string) error {
	switch prefix, isPattern := strings.CutSuffix(s, "*"); {
	case s == "*" || s == "RuntimeDefault" || s == "Unconfined" || strings.HasPrefix(s, "localhost/"):
		return nil
	case isPattern:
		if err := nodepath.ValidatePrefix(prefix); err != nil {
			return fmt.Errorf("%w: write the start of a SeccompProfile name before the '*'", err)
		}
	default:
		if err := nodepath.ValidateName(s); err != nil {
			return fmt.Errorf("%w: write a SeccompProfile's name, RuntimeDefault, Unconfined or localhost/<path>", err)
		}
	}
	return nil
}

// defaultProfile is the seccompProfile field a policy's defaultProfile
// writes (nil for none), or why it names no file.
func defaultProfile(d *v1alpha1.PolicyProfile) (*corev1.SeccompProfile, error) {
	if d == nil {
		return nil, nil
	}
	sp := &corev1.SeccompProfile{Type: corev1.SeccompProfileType(d.Type)}
	if d.Type != string(corev1.SeccompProfileTypeLocalhost) {
		return sp, nil
	}
	path := d.LocalhostProfile
	if d.ProfileName != "" {
		var err error
		if path, err = nodepath.ProfilePath(d.ProfileName); err != nil {
			return nil, fmt.Errorf("spec.defaultProfile.profileName: %w", err)
		}
	}
	sp.LocalhostProfile = &path
	return sp, nil
}

// CheckBinding is CheckPolicy for a ProfileBinding: what chosenCEL needs
// to compile it. A binding this refuses binds nothing; the other bindings
// of its namespace still apply.
func CheckBinding(b *v1alpha1.ProfileBinding) error {
	if _, err := nodepath.ProfilePath(b.Spec.ProfileName); err != nil {
		return fmt.Errorf("spec.profileName: %w: write the name of a SeccompProfile", err)
	}
	for i, img := range b.Spec.Images {
		if err := compileImage(img); err != nil {
			return fmt.Errorf("spec.images[%d]: %w: write an image reference, '*' matching any run of characters", i, err)
		}
	}
	if b.Spec.PodSelector != nil {
		if _, err := metav1.LabelSelectorAsSelector(b.Spec.PodSelector); err != nil {
			return fmt.Errorf("spec.podSelector: %w", err)
		}
	}
	return nil
}

// validPolicies are the policies CheckPolicy accepts (all of them, most
// of the time, without a copy).
func validPolicies(all []v1alpha1.SeccompPolicy) []v1alpha1.SeccompPolicy {
	return accepted(all, CheckPolicy)
}

// validBindings are the bindings CheckBinding accepts.
func validBindings(all []v1alpha1.ProfileBinding) []v1alpha1.ProfileBinding {
	return accepted(all, CheckBinding)
}

// accepted returns the objects check accepts, in order: all itself while
// every one passes, a copy from the first refused one on.
func accepted[T any](all []T, check func(*T) error) []T {
	for i := range all {
		if check(&all[i]) != nil {
			out := append([]T(nil), all[:i]...)
			for j := i + 1; j < len(all); j++ {
				if check(&all[j]) == nil {
					out = append(out, all[j])
				}
			}
			return out
		}
	}
	return all
}
