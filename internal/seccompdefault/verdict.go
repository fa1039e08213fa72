package seccompdefault

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/defaultcheck"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// Verdict is what RuntimeDefault would do to a container.
type Verdict string

const (
	// Safe: the evidence holds nothing the default refuses.
	Safe Verdict = "safe"
	// Breaks: the default refuses something the evidence holds.
	Breaks Verdict = "breaks"
	// Depends: nothing the evidence holds is refused whatever its
	// arguments, but some syscall is refused for some argument values
	// (personality other than the few the defaults allow). A recording
	// holds names, not arguments, so it cannot say which values the
	// workload passes: the row says for which it breaks. Not counted as
	// breaking.
	Depends Verdict = "depends"
	// Unknown: no evidence of what the container does, or no default to
	// compare with.
	Unknown Verdict = "unknown"
	// Unaffected: privileged; runtimes install no filter for it, with
	// SeccompDefault or without.
	Unaffected Verdict = "unaffected"
)

// Running is one running container as the node state (or, where no
// agent reported it, the pod) describes it.
type Running struct {
	Node      string `json:"node"`
	Namespace string `json:"namespace"`
	Pod       string `json:"pod"`
	Container string `json:"container"`
	// Declared is the profile the pod declares (podprofile's Declared
	// form); Mode the kernel's, "" or NotReported when no agent said.
	Declared   string               `json:"declared"`
	Mode       v1alpha1.SeccompMode `json:"mode"`
	Privileged bool                 `json:"privileged,omitempty"`
}

// Unconfined reports whether the container runs without a profile today:
// it declares Unconfined or nothing, and its node, where it reported the
// container, did not see a filter (a node default already filtering it).
func (c Running) Unconfined() bool {
	if c.Declared == DeclaredDryRun {
		return true // runs the dry run in place of no profile
	}
	if c.Declared != podprofile.DeclaredNodeDefault && c.Declared != string(corev1.SeccompProfileTypeUnconfined) {
		return false
	}
	return c.Mode != v1alpha1.SeccompModeFilter && c.Mode != v1alpha1.SeccompModeStrict
}

// Refusal is a defaultcheck refusal on one architecture, with what it
// means for the verdict.
type Refusal struct {
	Arch   string `json:"arch"`
	Effect Effect `json:"effect"`
	defaultcheck.Refusal
}

// Effect is what a refusal means for a workload seen to make the syscall,
// when the evidence holds syscall names and no argument values.
type Effect string

const (
	// EffectBreaks: refused whatever the arguments (ENOSYS aside).
	EffectBreaks Effect = "breaks"
	// EffectArguments: refused for some argument values only (Values,
	// AllowedOnly); the verdict is Depends unless something breaks.
	EffectArguments Effect = "arguments"
	// EffectCommon: refused for some argument values of a syscall every
	// program makes for uses the default allows (ordinaryUses); that it
	// was made says nothing about the refused values. A note only.
	EffectCommon Effect = "common"
	// EffectENOSYS: refused with ENOSYS, which callers take for "not
	// implemented here" and fall back from (glibc's clone3 to clone, the
	// reason the defaults answer clone3 so). A note only.
	EffectENOSYS Effect = "enosys"
	// EffectSettled: refused for some argument values only, and a dry run
	// that watched the container long enough (Evaluator.MinSoak) logged
	// no call of it: the values it passes are allowed. A note only.
	EffectSettled Effect = "settled"
)

// strength orders effects when evidence disagrees on one refusal: the
// stronger is kept.
var strength = map[Effect]int{EffectSettled: 0, EffectENOSYS: 1, EffectCommon: 2, EffectArguments: 3, EffectBreaks: 4}

// ordinaryUses are the syscalls whose conditional refusals are only notes:
// every program that forks, starts a thread or opens a socket makes them,
// and the defaults refuse only the rarely used values (clone's namespace
// flags without CAP_SYS_ADMIN, containerd 2's AF_VSOCK and AF_ALG
// sockets). A workload that does pass such a value is missed: recording
// argument values would be needed to see it (docs/seccomp-default.md).
var ordinaryUses = map[string]bool{"clone": true, "socket": true}

// effectOf classifies r.
func effectOf(r defaultcheck.Refusal) Effect {
	switch {
	case r.Action == profile.ActErrno && r.ErrnoName == "ENOSYS":
		return EffectENOSYS
	case r.Always:
		return EffectBreaks
	case ordinaryUses[r.Syscall]:
		return EffectCommon
	default:
		return EffectArguments
	}
}

// FixKind says what to do about a container.
type FixKind string

const (
	FixRuntimeDefault FixKind = "RuntimeDefault"
	FixPredefined     FixKind = "predefined"
	FixLearned        FixKind = "learned"
	FixRecord         FixKind = "record"
)

// Fix is what to declare for the container, or how to find out.
type Fix struct {
	Kind FixKind `json:"kind"`
	// Profile is the SeccompProfile to use (predefined or learned).
	Profile string `json:"profile,omitempty"`
	Text    string `json:"text"`
	// Command records the workload (FixRecord): a ProfileRecording to
	// apply (docs/recording.md).
	Command string `json:"command,omitempty"`
}

// Row is the report on one container.
type Row struct {
	Running
	// NodeDefaultApplies: the pod declares nothing, so the kubelet's
	// SeccompDefault alone changes it; a pod declaring Unconfined keeps it
	// until it declares RuntimeDefault.
	NodeDefaultApplies bool       `json:"nodeDefaultApplies"`
	Against            string     `json:"against,omitempty"`
	Caps               []string   `json:"caps,omitempty"`
	Verdict            Verdict    `json:"verdict"`
	Reason             string     `json:"reason,omitempty"`
	Refused            []Refusal  `json:"refused,omitempty"`
	Evidence           []Evidence `json:"evidence"`
	Fix                *Fix       `json:"fix,omitempty"`
}

// Evaluator judges containers. It caches verdicts by (evidence, default,
// node facts, capabilities): the replicas of a workload are judged once.
type Evaluator struct {
	// MinSoak is how long a dry run must have watched a container that
	// logged nothing refused to count as evidence of safety
	// (DefaultMinSoak when 0).
	MinSoak time.Duration

	cache      map[string]judged
	predefined []candidate
}

type judged struct {
	verdict Verdict
	reason  string
	refused []Refusal
	fix     *Fix
}

// NewEvaluator returns an Evaluator; predefined are the profiles a fix may
// name (predefined.All()), tried smallest first.
func NewEvaluator(predefined []Predefined) *Evaluator {
	e := &Evaluator{cache: map[string]judged{}}
	for _, p := range predefined {
		e.predefined = append(e.predefined, candidate{name: p.Name, p: p.Profile, size: allowedNames(p.Profile)})
	}
	slices.SortStableFunc(e.predefined, func(a, b candidate) int { return a.size - b.size })
	return e
}

// Predefined is a profile a fix may name.
type Predefined struct {
	Name    string
	Profile *profile.Profile
}

type candidate struct {
	name string
	p    *profile.Profile
	size int
}

// allowedNames counts the syscall names p's allow rules name: the size
// "smallest" orders by.
func allowedNames(p *profile.Profile) int {
	n := 0
	for i := range p.Syscalls {
		if p.Syscalls[i].Action == profile.ActAllow {
			n += len(p.Syscalls[i].AllNames())
		}
	}
	return n
}

// Judge gives the verdict on c (a container for which c.Unconfined() or
// c.Privileged holds) whose pod is pod, under t, from ev.
func (e *Evaluator) Judge(c Running, pod *corev1.Pod, t *Target, ev []Evidence) Row {
	row := Row{Running: c, NodeDefaultApplies: c.Declared == podprofile.DeclaredNodeDefault || c.Declared == DeclaredDryRun, Against: t.Against, Evidence: ev}
	if row.Evidence == nil {
		row.Evidence = []Evidence{}
	}
	if c.Privileged {
		row.Verdict, row.Reason = Unaffected, "privileged: runs without a filter under SeccompDefault too"
		return row
	}
	var add, drop []corev1.Capability
	if sc := podprofile.ContainerSecurityContext(pod, c.Container); sc != nil && sc.Capabilities != nil {
		add, drop = sc.Capabilities.Add, sc.Capabilities.Drop
	}
	// containerd and Docker give profile.DefaultCaps; CRI-O's built-in
	// default_capabilities are the same list (a crio.conf may set fewer).
	row.Caps = defaultcheck.BoundingCaps(profile.DefaultCaps, capStrings(add), capStrings(drop))
	key := cacheKey(t, row.Caps, ev)
	j, ok := e.cache[key]
	if !ok {
		j = e.judge(t, row.Caps, ev)
		e.cache[key] = j
	}
	row.Verdict, row.Reason, row.Refused, row.Fix = j.verdict, j.reason, j.refused, j.fix
	if row.Fix == nil && !recorded(ev) {
		row.Fix = recordFix(pod, c.Container)
		if row.Verdict == Unknown && len(ev) > 0 { // a dry run, not settled yet
			row.Fix.Text = "keep the dry run going and run this report again, or " + row.Fix.Text
		}
	}
	return row
}

func capStrings(cs []corev1.Capability) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = string(c)
	}
	return out
}

func cacheKey(t *Target, caps []string, ev []Evidence) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%s|%s", t.Against, t.Problem, t.Arch, t.Kernel, strings.Join(caps, ","))
	for _, x := range ev {
		b.WriteString("|" + x.id)
	}
	return b.String()
}

func (e *Evaluator) judge(t *Target, caps []string, ev []Evidence) judged {
	if len(ev) == 0 {
		return judged{verdict: Unknown, reason: "no evidence yet: no ProfileRecording has recorded this container"}
	}
	if t.profile == nil {
		return judged{verdict: Unknown, reason: "no default to compare with: " + t.Problem}
	}
	opts := defaultcheck.Options{Caps: caps, Kernel: t.Kernel}
	if t.Arch != "" {
		opts.Arches = []string{t.Arch}
	}
	minSoak := cmp.Or(e.MinSoak, DefaultMinSoak)
	// checked counts the evidence that can speak for safety; a dry run
	// that has not settled (too short, records missed) only adds what it
	// logged.
	refused, checked, problems := map[string]Refusal{}, 0, []string{}
	var dryLogged map[string]bool // syscalls a settled dry run logged; nil: none settled
	for _, x := range ev {
		settled := true
		if x.Kind == EvidenceDryRun {
			var why string
			if settled, why = x.settles(minSoak); !settled {
				problems = append(problems, why)
			} else if dryLogged == nil {
				dryLogged = map[string]bool{}
			}
			if x.uses == nil { // logged nothing
				if settled {
					checked++
				}
				continue
			}
		}
		rep, err := defaultcheck.CheckLoaded(t.def, t.profile, x.uses, opts)
		if err != nil {
			problems = append(problems, x.Source+": "+err.Error())
			continue
		}
		if !admitsAny(rep) {
			problems = append(problems, x.Source+": holds no ABI of the node's architecture")
			continue
		}
		if settled {
			checked++
		}
		for _, a := range rep.Arches {
			for _, r := range a.Refused {
				eff := effectOf(r)
				if x.Kind == EvidenceDryRun {
					if settled {
						dryLogged[r.Syscall] = true
					}
					// The filter logged the call as made, arguments
					// included: refused for these values, not maybe.
					if eff != EffectENOSYS {
						eff = EffectBreaks
					}
				}
				k := a.Arch + "|" + refusalKey(r)
				if old, ok := refused[k]; !ok || strength[eff] > strength[old.Effect] {
					refused[k] = Refusal{Arch: a.Arch, Effect: eff, Refusal: r}
				}
			}
		}
	}
	anyBreaks := false
	for k, r := range refused {
		// A settled dry run saw the argument values: a syscall refused
		// only for some values that it did not log was called with
		// allowed ones.
		if dryLogged != nil && r.Effect == EffectArguments && !dryLogged[r.Syscall] {
			r.Effect = EffectSettled
			refused[k] = r
		}
		anyBreaks = anyBreaks || r.Effect == EffectBreaks
	}
	if checked == 0 && !anyBreaks {
		return judged{verdict: Unknown, reason: "no usable evidence: " + strings.Join(problems, "; ")}
	}
	j := judged{verdict: Safe, reason: strings.Join(problems, "; ")}
	for _, k := range slices.Sorted(maps.Keys(refused)) {
		r := refused[k]
		j.refused = append(j.refused, r)
		switch {
		case r.Effect == EffectBreaks:
			j.verdict = Breaks
		case r.Effect == EffectArguments && j.verdict == Safe:
			j.verdict = Depends
		}
	}
	slices.SortStableFunc(j.refused, func(a, b Refusal) int { return strings.Compare(a.Syscall, b.Syscall) })
	switch j.verdict {
	case Safe:
		// Refusals left are notes (ENOSYS, ordinary uses' rare values).
		j.fix = &Fix{Kind: FixRuntimeDefault, Text: "RuntimeDefault is safe"}
	case Depends:
		j.fix = e.fit(opts, ev)
		if j.fix == nil {
			j.fix = &Fix{Kind: FixRuntimeDefault, Text: "RuntimeDefault unless it passes a refused value: run it under RuntimeDefault to see"}
		}
	default:
		j.fix = e.fit(opts, ev)
	}
	return j
}

func refusalKey(r defaultcheck.Refusal) string {
	return fmt.Sprintf("%s|%s|%d|%v|%v|%v", r.Syscall, r.Action, r.Errno, r.Always, r.Values, r.AllowedOnly)
}

func admitsAny(rep *defaultcheck.Report) bool {
	for _, a := range rep.Arches {
		if len(a.ABIs) > 0 {
			return true
		}
	}
	return false
}

// fit is the fix for a container the default breaks: the smallest
// predefined profile that refuses nothing of the evidence, else the
// learned profile when a recording has one, else nil (record it).
func (e *Evaluator) fit(opts defaultcheck.Options, ev []Evidence) *Fix {
	if !recorded(ev) {
		// A dry run logs only what the default refuses, not what the
		// workload uses: no profile can be fitted to it.
		return nil
	}
	for _, c := range e.predefined {
		fits := true
		for _, x := range ev {
			if x.uses == nil {
				continue // a dry run that logged nothing
			}
			rep, err := defaultcheck.CheckProfile(c.name, c.p, x.uses, opts)
			if err != nil || rep.Breaks || !admitsAny(rep) {
				fits = false
				break
			}
		}
		if fits {
			return &Fix{Kind: FixPredefined, Profile: c.name, Text: "the predefined profile " + c.name + " fits"}
		}
	}
	for _, x := range ev {
		if x.Kind == EvidenceProfile {
			return &Fix{Kind: FixLearned, Profile: x.Profile,
				Text: "the profile learned by recording: " + x.Profile + " (ProfileRecording " + x.Recording + " in mode Applying binds it)"}
		}
	}
	for _, x := range ev {
		if ns, name, ok := strings.Cut(x.Recording, "/"); ok {
			return &Fix{Kind: FixLearned, Text: "a profile learned by recording: ProfileRecording " + x.Recording + " in mode Applying learns and binds it",
				Command: fmt.Sprintf(`kubectl -n %s patch prec %s --type=merge -p '{"spec":{"mode":"Applying"}}'`, ns, name)}
		}
	}
	return nil
}

// recorded reports whether ev holds evidence of what the container uses
// (a recording or a learned profile), not only what a dry run refused.
func recorded(ev []Evidence) bool {
	return slices.ContainsFunc(ev, func(x Evidence) bool { return x.Kind != EvidenceDryRun })
}

// recordLabels are pod labels a controller sets per pod or revision: a
// recording selecting them would miss the next replicas.
var recordLabels = []string{"pod-template-hash", "controller-revision-hash", "statefulset.kubernetes.io/pod-name", "pod-template-generation"}

// recordFix tells how to get evidence: a ProfileRecording selecting the
// pod's labels, then run the workload under real load (docs/recording.md).
func recordFix(pod *corev1.Pod, container string) *Fix {
	labels := map[string]string{}
	for k, v := range pod.Labels {
		if !slices.Contains(recordLabels, k) {
			labels[k] = v
		}
	}
	if len(labels) == 0 {
		return &Fix{Kind: FixRecord, Text: "a profile learned by recording: label the pod's workload and record it with a ProfileRecording (docs/recording.md)"}
	}
	var sel []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		sel = append(sel, fmt.Sprintf("%q: %q", k, labels[k]))
	}
	name := recordingName(labels, container)
	cmd := fmt.Sprintf(`kubectl apply -f - <<'EOF'
apiVersion: seccomp-operator.dev/v1alpha1
kind: ProfileRecording
metadata: {name: %s, namespace: %s}
spec: {podSelector: {matchLabels: {%s}}, containers: [%s]}
EOF`, name, pod.Namespace, strings.Join(sel, ", "), container)
	return &Fix{Kind: FixRecord, Text: "a profile learned by recording: record it under real load, then run this report again", Command: cmd}
}

// recordingName names the suggested recording after the workload (its
// app label) and container, so that two workloads' suggestions differ.
func recordingName(labels map[string]string, container string) string {
	base := cmp.Or(labels["app.kubernetes.io/name"], labels["app"])
	var b strings.Builder
	for _, c := range strings.ToLower(strings.Trim(base+"-"+container, "-")) {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '-':
			b.WriteRune(c)
		default:
			b.WriteByte('-')
		}
	}
	return strings.Trim(("seccomp-default-" + b.String())[:min(len("seccomp-default-")+b.Len(), 63)], "-")
}
