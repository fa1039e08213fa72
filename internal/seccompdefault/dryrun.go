package seccompdefault

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/recording"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// EvidenceDryRun: what the container logged while it ran the dry-run
// profile (nodepath.DryRunPath), as its node's agent reported it
// (ContainerSeccompState.DryRun).
const EvidenceDryRun EvidenceKind = "dryrun"

// DefaultMinSoak is how long a dry run must have watched a container that
// logged nothing refused before the report calls it safe: a day, so that
// daily jobs and traffic peaks ran under it. A dry run that logged a
// refusal says "breaks" at once.
const DefaultMinSoak = 24 * time.Hour

// DeclaredDryRun is the declared form (podprofile) of a container that runs
// the dry-run profile.
var DeclaredDryRun = podprofile.Ref{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: nodepath.DryRunPath}.Declared()

// DryRunProfile renders the dry-run profile of the node t describes: its
// runtime default, resolved for the node's architecture (fallbackArch when
// the Node does not say) and kernel (fallbackKernel likewise) and for a
// container without capabilities, with every refusing action turned into
// SCMP_ACT_LOG (profile.Complain). Without capabilities the default is
// at its strictest (the runtimes only ever allow more to a capability), so
// every call it could refuse any container is logged; the report then
// judges what was logged for each container's own capabilities. about says
// what it was built from, for the node state.
func DryRunProfile(t *Target, fallbackArch, fallbackKernel string) (content []byte, about string, err error) {
	if t.profile == nil {
		return nil, "", fmt.Errorf("no runtime default for node %s: %s", t.Node, t.Problem)
	}
	arch, kernel := t.Arch, t.Kernel
	if arch == "" {
		arch = fallbackArch
	}
	if kernel == "" {
		kernel = fallbackKernel
	}
	resolved, err := profile.Resolve(t.profile, profile.Env{Arch: arch, Caps: []string{}, KernelVersion: kernel})
	if err != nil {
		return nil, "", fmt.Errorf("%s for %s: %w", t.Against, arch, err)
	}
	content, err = profile.Marshal(profile.Complain(resolved))
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", t.Against, err)
	}
	about = fmt.Sprintf("%s, %s, kernel %s, no capabilities", t.Against, arch, kernel)
	if t.Note != "" {
		about += " (" + t.Note + ")"
	}
	return content, about, nil
}

// DryRunEvidence is the evidence of a container that runs the dry-run
// profile (st.Declared is DeclaredDryRun): what its node's agent saw it
// log, since when, and whether the node may have missed records (rec, the
// node state's records). now is the report's time.
func DryRunEvidence(st *v1alpha1.ContainerSeccompState, rec *v1alpha1.NodeRecords, now time.Time) Evidence {
	ev := Evidence{Kind: EvidenceDryRun}
	dr := st.DryRun
	if dr == nil {
		ev.Source = "dry run: its node's agent reported nothing for it yet"
		ev.Incomplete = "no dry run reported (an agent without the dry run, or it has not scanned the container yet)"
		ev.id = "dryrun/" + st.ContainerID + "/none"
		return ev
	}
	since := dr.Since
	ev.Since = &since
	ev.soak = now.Sub(since.Time).Truncate(time.Second)
	if ev.soak < 0 {
		ev.soak = 0
	}
	ev.Soaked = ev.soak.String()
	switch {
	case rec == nil:
		ev.Incomplete = "the node reports no record source"
	case !rec.Reading:
		ev.Incomplete = "the node's agent reads no seccomp records: " + rec.Message
	case rec.LastLossTime != nil && !rec.LastLossTime.Before(&since):
		ev.Incomplete = "seccomp records were lost on the node at " + rec.LastLossTime.UTC().Format(time.RFC3339) + ", during the dry run"
	}
	var set recording.Set
	native := ""
	var names, unnamed []string
	for _, l := range dr.Logged {
		a, ok := syscalls.Get(l.ABI)
		for _, n := range l.Syscalls {
			if !ok || strings.HasPrefix(n, "#") {
				unnamed = append(unnamed, l.ABI+":"+n)
				continue
			}
			if _, known := a.Lookup(n); !known {
				unnamed = append(unnamed, l.ABI+":"+n)
				continue
			}
			if native == "" {
				native = a.Native
			}
			set.Add(a.Name, n)
			names = append(names, n)
		}
	}
	if len(set.Names()) > 0 {
		ev.uses = recording.Profile(&set, recording.ProfileOptions{Native: native})
	}
	ev.Source = fmt.Sprintf("dry run since %s (%s), %d syscall(s) logged", since.UTC().Format(time.RFC3339), ev.Soaked, len(names))
	if len(unnamed) > 0 {
		ev.Source += ", not judged (no name): " + strings.Join(unnamed, " ")
	}
	if dr.Dropped > 0 {
		ev.Source += fmt.Sprintf(", %d more not kept", dr.Dropped)
	}
	h := sha256.New()
	fmt.Fprintf(h, "%s|%v|%s", st.ContainerID, dr.Logged, ev.Incomplete)
	ev.id = "dryrun/" + hex.EncodeToString(h.Sum(nil)[:12]) + "/" + ev.Soaked
	return ev
}

// settles reports whether dry-run evidence x can speak for the absence of
// refusals: it watched for at least minSoak and missed no record.
func (x Evidence) settles(minSoak time.Duration) (bool, string) {
	switch {
	case x.Incomplete != "":
		return false, x.Incomplete
	case x.soak < minSoak:
		return false, fmt.Sprintf("dry run for %s of the %s asked (--min-soak): nothing refused logged yet", x.Soaked, minSoak)
	}
	return true, ""
}
