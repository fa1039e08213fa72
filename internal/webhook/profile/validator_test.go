package profile

import (
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

func spec(base string, def v1alpha1.Action, arches []v1alpha1.Arch, rules ...v1alpha1.SyscallRule) *v1alpha1.SeccompProfile {
	sp := &v1alpha1.SeccompProfile{}
	sp.Name = "p"
	sp.Spec = v1alpha1.SeccompProfileSpec{BaseProfileName: base, DefaultAction: def, Architectures: arches, Syscalls: rules}
	return sp
}

var x86 = []v1alpha1.Arch{"SCMP_ARCH_X86_64"}

func TestCheckNamesTheField(t *testing.T) {
	_, err := Check(spec("", "SCMP_ACT_ERRNO", x86, v1alpha1.SyscallRule{Names: []string{"read", "fooo"}, Action: "SCMP_ACT_ALLOW"}))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.syscalls[0].names[1]: Invalid value: "fooo": unknown syscall`) {
		t.Fatalf("err = %v", err)
	}
	_, err = Check(spec("", "SCMP_ACT_NOPE", x86))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `spec.defaultAction: Invalid value: "SCMP_ACT_NOPE": unknown action`) {
		t.Fatalf("err = %v", err)
	}
}

func TestCheckLetsAChildInheritDefaults(t *testing.T) {
	if _, err := Check(spec("base", "", nil, v1alpha1.SyscallRule{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"})); err != nil {
		t.Fatalf("child without defaultAction and architectures: %v", err)
	}
	// A child's own errors are still errors.
	if _, err := Check(spec("base", "", nil, v1alpha1.SyscallRule{Names: []string{"fooo"}, Action: "SCMP_ACT_ALLOW"})); err == nil {
		t.Fatal("a child with an unknown syscall was accepted")
	}
}

func TestCheckCapsWarnings(t *testing.T) {
	var rules []v1alpha1.SyscallRule
	for range 30 { // identical rules: one note each
		rules = append(rules, v1alpha1.SyscallRule{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"})
	}
	w, err := Check(spec("", "SCMP_ACT_ERRNO", x86, rules...))
	if err != nil {
		t.Fatal(err)
	}
	if len(w) != MaxWarnings+1 || !strings.Contains(w[MaxWarnings], "more notes") {
		t.Fatalf("warnings = %d: %q", len(w), w)
	}
}

// A profile with seccomp flags is valid (runc 1.2.0 and crun take them) but
// warned about: pods using it do not start under an older runc. The warning
// comes first, so that the cap on the model's notes never drops it.
func TestCheckWarnsAboutSeccompFlags(t *testing.T) {
	sp := spec("", "SCMP_ACT_ERRNO", x86, v1alpha1.SyscallRule{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"})
	if w, err := Check(sp); err != nil || len(w) != 0 {
		t.Fatalf("without flags: %q, %v; want no warning", w, err)
	}
	// The SECCOMP_FILTER_FLAG_LOG the operator adds (logDenials, on when
	// unset) is not the author's flags: no warning either.
	logDenials := true
	sp.Spec.LogDenials = &logDenials
	if w, err := Check(sp); err != nil || len(w) != 0 {
		t.Fatalf("logDenials true: %q, %v; want no warning", w, err)
	}
	sp.Spec.Flags = []v1alpha1.Flag{"SECCOMP_FILTER_FLAG_LOG"}
	w, err := Check(sp)
	if err != nil {
		t.Fatalf("a profile with flags was denied: %v", err)
	}
	if len(w) != 1 || !strings.Contains(w[0], "spec.flags [SECCOMP_FILTER_FLAG_LOG]") || !strings.Contains(w[0], "runc 1.2.0") ||
		!strings.Contains(w[0], "SeccompFlagsNotSupported") {
		t.Fatalf("warnings = %q, want one naming the flags, runc 1.2.0 and the node reason", w)
	}

	for range 30 { // many notes besides
		sp.Spec.Syscalls = append(sp.Spec.Syscalls, v1alpha1.SyscallRule{Names: []string{"read"}, Action: "SCMP_ACT_ALLOW"})
	}
	w, _ = Check(sp)
	if len(w) != MaxWarnings+1 || !strings.Contains(w[0], "spec.flags") || !strings.Contains(w[MaxWarnings], "and 21 more notes") {
		t.Fatalf("warnings = %d: %q; want the flags warning first and the count of the rest", len(w), w)
	}
}
