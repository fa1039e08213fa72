package cli

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/seccompdefault"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/predefined"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/runtimedefault"
)

// seccompDefaultHelp is audit's help for --seccomp-default.
const seccompDefaultHelp = "--seccomp-default reports, for every running container that runs without a profile today (declares\n" +
	"Unconfined or nothing, and its node's agent did not see a filter), what RuntimeDefault would do to it:\n" +
	"safe, breaks on which syscalls (errno), depends on arguments (a syscall refused only for some values,\n" +
	"which a recording of names cannot tell: the values are listed), or unknown (no evidence yet);\n" +
	"privileged containers are listed as unaffected. The evidence is what the ProfileRecordings that\n" +
	"selected the container recorded, and the profiles they learned, without what only the runtime's\n" +
	"set-up before exec made (runtimeOnly: runc's mount, pivot_root, ... in a container recorded\n" +
	"Unconfined, which RuntimeDefault, loaded after them, never meets), and, for a container running the\n" +
	"dry-run profile (localhost operator-dryrun/runtime-default.json, its node's runtime default logging\n" +
	"what it would refuse), what it logged: a logged refusal breaks at once, nothing logged is safe after\n" +
	"--min-soak without records lost on its node (docs/seccomp-default.md, Dry run). The default is the node's runtime\n" +
	"and version (Node status.nodeInfo; a version not held: the nearest held one, said so), or\n" +
	"--runtime. Each row names a fix: RuntimeDefault, a predefined profile that fits, or a profile\n" +
	"learned by recording. Exits 1 when a container would break; depends and unknowns are listed and\n" +
	"counted but do not fail it."

// seccompDefaultReport is what `seccompctl audit --seccomp-default` prints.
type seccompDefaultReport struct {
	Nodes      []seccompdefault.Target `json:"nodes"`
	Containers []seccompdefault.Row    `json:"containers"`
	Safe       int                     `json:"safe"`
	Breaks     int                     `json:"breaks"`
	Depends    int                     `json:"depends"`
	Unknown    int                     `json:"unknown"`
	Unaffected int                     `json:"unaffected"`
	// DryRunProfiles are what the dry-run profile of each node with a
	// container under it was built from (its agent's runtime state).
	DryRunProfiles map[string]string `json:"dryRunProfiles,omitempty"`
}

// auditSeccompDefault prints the report and fails with exit code 1 when a
// container would break.
func auditSeccompDefault(ctx context.Context, o *options, kubeconfig, namespace, runtimeRef string, minSoak time.Duration, w io.Writer) error {
	if runtimeRef != "" {
		if _, err := runtimedefault.Get(runtimeRef); err != nil {
			return fmt.Errorf("--runtime: %w", err)
		}
	}
	k8s, err := newKubeClient(kubeconfig)
	if err != nil {
		return err
	}
	rep, err := buildSeccompDefault(ctx, k8s, namespace, runtimeRef, minSoak, time.Now())
	if err != nil {
		return err
	}
	var perr error
	if err := o.emit(w, rep, func() { perr = printSeccompDefault(w, rep) }); err != nil {
		return err
	}
	if perr != nil {
		return perr
	}
	if rep.Breaks > 0 {
		return &exitError{code: 1, msg: fmt.Sprintf("%d containers would break under RuntimeDefault", rep.Breaks)}
	}
	return nil
}

// buildSeccompDefault gathers the running containers as the unconfined
// report does, then the nodes, recordings and learned profiles, and judges
// each container that runs without a profile (or runs the dry run), at
// time now.
func buildSeccompDefault(ctx context.Context, k8s client.Client, namespace, runtimeRef string, minSoak time.Duration, now time.Time) (seccompDefaultReport, error) {
	rep := seccompDefaultReport{Nodes: []seccompdefault.Target{}, Containers: []seccompdefault.Row{}}
	ex := &exemptions{}
	states, pods, err := fetchUnconfined(ctx, k8s, namespace, ex)
	if err != nil {
		return rep, err
	}
	running := buildUnconfined(states, pods, ex)
	if ex.err != nil {
		return rep, ex.err
	}
	var recs v1alpha1.ProfileRecordingList
	if err := k8s.List(ctx, &recs, client.InNamespace(namespace)); err != nil {
		return rep, fmt.Errorf("list ProfileRecordings: %w", err)
	}
	src := &seccompdefault.Sources{Recordings: recs.Items, Profiles: map[string]*v1alpha1.SeccompProfile{}}
	for _, r := range recs.Items {
		for _, c := range r.Status.Containers {
			if c.Profile == "" || src.Profiles[c.Profile] != nil {
				continue
			}
			var sp v1alpha1.SeccompProfile
			switch err := k8s.Get(ctx, client.ObjectKey{Name: c.Profile}, &sp); {
			case err == nil:
				src.Profiles[c.Profile] = &sp
			case !apierrors.IsNotFound(err):
				return rep, fmt.Errorf("read SeccompProfile %s: %w", c.Profile, err)
			}
		}
	}
	podsByKey := map[string]*corev1.Pod{}
	for i := range pods {
		podsByKey[pods[i].Namespace+"/"+pods[i].Name] = &pods[i]
	}
	nodeStates := map[string]*v1alpha1.SeccompNodeStatus{}
	for i := range states {
		nodeStates[states[i].Name] = &states[i]
	}
	targets := map[string]*seccompdefault.Target{}
	eval := seccompdefault.NewEvaluator(predefinedCandidates())
	eval.MinSoak = minSoak
	for _, r := range running.Containers {
		c := seccompdefault.Running{Node: r.Node, Namespace: r.Namespace, Pod: r.Pod, Container: r.Container,
			Declared: r.Declared, Mode: r.Mode, Privileged: r.Privileged}
		if !c.Unconfined() {
			continue
		}
		t := targets[r.Node]
		if t == nil {
			var node corev1.Node
			var np *corev1.Node
			switch err := k8s.Get(ctx, client.ObjectKey{Name: r.Node}, &node); {
			case err == nil:
				np = &node
			case !apierrors.IsNotFound(err):
				return rep, fmt.Errorf("read node %s: %w", r.Node, err)
			}
			nt := seccompdefault.NodeTarget(r.Node, np, runtimeRef)
			t = &nt
			targets[r.Node] = t
			rep.Nodes = append(rep.Nodes, nt)
		}
		pod := podsByKey[r.Namespace+"/"+r.Pod]
		if pod == nil {
			continue // every row comes from a listed pod; kept safe if that changes
		}
		ev := src.For(pod, r.Container)
		if r.Declared == seccompdefault.DeclaredDryRun {
			var rec *v1alpha1.NodeRecords
			if ns := nodeStates[r.Node]; ns != nil {
				rec = ns.Status.Records
				if rt := ns.Status.Runtime; rt != nil && rt.DryRunProfile != "" {
					if rep.DryRunProfiles == nil {
						rep.DryRunProfiles = map[string]string{}
					}
					rep.DryRunProfiles[r.Node] = rt.DryRunProfile
				}
			}
			ev = append(ev, seccompdefault.DryRunEvidence(&r.ContainerSeccompState, rec, now))
		}
		row := eval.Judge(c, pod, t, ev)
		switch row.Verdict {
		case seccompdefault.Safe:
			rep.Safe++
		case seccompdefault.Breaks:
			rep.Breaks++
		case seccompdefault.Depends:
			rep.Depends++
		case seccompdefault.Unknown:
			rep.Unknown++
		case seccompdefault.Unaffected:
			rep.Unaffected++
		}
		rep.Containers = append(rep.Containers, row)
	}
	return rep, nil
}

func predefinedCandidates() []seccompdefault.Predefined {
	var out []seccompdefault.Predefined
	for _, p := range predefined.All() {
		out = append(out, seccompdefault.Predefined{Name: p.Name, Profile: p.Profile})
	}
	return out
}

// printSeccompDefault writes the nodes' defaults, one row per container,
// the commands of the fixes that have one, and a summary.
func printSeccompDefault(w io.Writer, rep seccompDefaultReport) error {
	for _, t := range rep.Nodes {
		switch {
		case t.Problem != "":
			fmt.Fprintf(w, "node %s: no default to compare with: %s\n", t.Node, t.Problem)
		case t.Note != "":
			fmt.Fprintf(w, "node %s: against %s: %s\n", t.Node, t.Against, t.Note)
		default:
			fmt.Fprintf(w, "node %s: against %s\n", t.Node, t.Against)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(rep.DryRunProfiles)) {
		fmt.Fprintf(w, "node %s: dry-run profile %s\n", n, rep.DryRunProfiles[n])
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tNAMESPACE\tPOD\tCONTAINER\tDECLARED\tVERDICT\tEVIDENCE\tFIX")
	var commands []string
	for _, r := range rep.Containers {
		ev := []string{}
		for _, e := range r.Evidence {
			k := string(e.Kind)
			if e.Kind == seccompdefault.EvidenceDryRun && e.Soaked != "" {
				k += " (" + e.Soaked + ")"
			}
			ev = append(ev, k)
		}
		evs := strings.Join(ev, ",")
		if evs == "" {
			evs = "none"
		}
		fix := ""
		if r.Fix != nil {
			fix = r.Fix.Text
			if r.Fix.Command != "" {
				commands = append(commands, r.Namespace+"/"+r.Pod+"/"+r.Container+":\n"+r.Fix.Command)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Node, r.Namespace, r.Pod, r.Container, r.Declared, verdictString(r), evs, fix)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, c := range commands {
		fmt.Fprintf(w, "\n%s\n", c)
	}
	_, err := fmt.Fprintf(w, "%d containers without a profile: %d safe, %d would break, %d depend on arguments (not a failure), %d unknown (no evidence: not a failure), %d privileged (unaffected)\n",
		len(rep.Containers), rep.Safe, rep.Breaks, rep.Depends, rep.Unknown, rep.Unaffected)
	return err
}

// verdictString is "breaks on mount (ERRNO(EPERM)), unshare (ERRNO(EPERM))"
// or "depends on arguments: personality (ERRNO(EPERM) unless arg0 == 0x0
// (PER_LINUX) | ...)": the refusals that decide the verdict; the notes
// (ENOSYS, ordinary uses) are in the JSON.
func verdictString(r seccompdefault.Row) string {
	var effect seccompdefault.Effect
	switch r.Verdict {
	case seccompdefault.Breaks:
		effect = seccompdefault.EffectBreaks
	case seccompdefault.Depends:
		effect = seccompdefault.EffectArguments
	default:
		return string(r.Verdict)
	}
	var parts []string
	seen := map[string]bool{}
	for _, f := range r.Refused {
		if f.Effect != effect {
			continue
		}
		s := f.Syscall + " (" + refusedWords(f.Refusal)
		if !f.Always {
			if len(f.AllowedOnly) > 0 {
				s += " unless " + strings.Join(f.AllowedOnly, " | ")
			}
		}
		s += ")"
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	if effect == seccompdefault.EffectArguments {
		return "depends on arguments: " + strings.Join(parts, ", ")
	}
	return "breaks on " + strings.Join(parts, ", ")
}
