// Package render produces the bytes a node agent writes for a profile, and
// their content hash. The manager (to tell which nodes run the current
// version) and the agent (to write it) must agree on both, so this is their
// one home.
package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// Render returns the OCI seccomp JSON installed on nodes for a profile whose
// inheritance has been flattened: in Complain mode every denial becomes
// SCMP_ACT_LOG; with logDenials the filter carries SECCOMP_FILTER_FLAG_LOG
// (LogFlag), added to the profile's own flags when they lack it, so that
// the kernel audits its ERRNO and TRAP verdicts too (it audits LOG and KILL
// verdicts either way).
func Render(mode v1alpha1.Mode, flattened *profile.Profile, logDenials bool) ([]byte, error) {
	p := flattened
	if mode == v1alpha1.ModeComplain {
		p = profile.Complain(flattened)
	}
	if logDenials && !slices.Contains(p.Flags, profile.FlagLog) {
		if p == flattened {
			c := *p // the flattened profile is the caller's: add to a copy
			p = &c
		}
		p.Flags = append(slices.Clip(p.Flags), profile.FlagLog)
	}
	b, err := profile.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("render profile: %w", err)
	}
	// An agent holds the renderings of a whole pass (all profiles, on a
	// bulk apply) until it has written them: drop the encoder's spare
	// capacity (up to half of each buffer) by copying into an exact-size slice.
	return bytes.Clone(b), nil
}

// LogDenials says whether a node installs sp with the SECCOMP_FILTER_FLAG_LOG
// the operator adds: the profile asks for it (spec.logDenials, true when
// unset) and the node's container runtime passes seccomp flags (runc before
// 1.2.0 refuses every flag, and a pod would not start: such a node installs
// the profile without it, and its denials leave no audit record).
func LogDenials(sp *v1alpha1.SeccompProfile, runtimeTakesFlags bool) bool {
	return runtimeTakesFlags && sp.Spec.LogsDenials()
}

// Hash is the content hash nodes report for rendered bytes.
func Hash(rendered []byte) string {
	return HashOfSum(sha256.Sum256(rendered))
}

// HashOfSum is Hash for bytes whose SHA-256 is sum.
func HashOfSum(sum [sha256.Size]byte) string {
	return "sha256:" + hex.EncodeToString(sum[:])
}
