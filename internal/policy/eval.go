package policy

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/internal/podprofile"
)

// Request is what Evaluate needs to know of a pod admission: a CREATE, or
// (Ephemeral) an UPDATE of the pods/ephemeralcontainers subresource, where
// Pod is the pod with its new ephemeral containers.
type Request struct {
	Pod             *corev1.Pod
	NamespaceLabels map[string]string
	Username        string
	Ephemeral       bool
}

// State is the cluster's state the decisions depend on.
type State struct {
	Policies []v1alpha1.SeccompPolicy
	// Bindings are the ProfileBindings of the pod's namespace (others are
	// ignored).
	Bindings []v1alpha1.ProfileBinding
	// Index is the SeccompProfileIndex; nil: none published, so the
	// installed checks admit, like their bindings' parameterNotFoundAction.
	Index             *v1alpha1.SeccompProfileIndex
	OperatorNamespace string
}

// Decision is what the admission policies compiled from the cluster's
// SeccompPolicies and ProfileBindings do with a pod admission: which policy
// governs it, the pod-level default they write (nil: none), and the
// messages of each validating policy that fails, under the policy's mode.
type Decision struct {
	Policy string // "" when no policy governs the pod
	// Pod is the pod as the mutating policies leave it: legacy annotations
	// translated into fields, bound containers given their profile, the
	// default where nothing is set.
	Pod *corev1.Pod
	// Default is the pod-level default written (nil: none).
	Default *corev1.SeccompProfile
	// Translated is whether a legacy annotation was written into a field.
	Translated bool
	// Bound maps each container a ProfileBinding bound to the binding.
	Bound map[string]string
	Mode  v1alpha1.PolicyMode
	// Violations are the allowed-list messages, Missing the
	// installed-check messages, each exactly as the apiserver words them.
	Violations, Missing string
	// BindingMissing is the bindings' installed-check message (always
	// enforced: the pod could not start).
	BindingMissing string
}

// Refused reports whether the apiserver rejects the pod.
func (d Decision) Refused() bool {
	return d.BindingMissing != "" || d.Mode == v1alpha1.PolicyModeEnforce && (d.Violations != "" || d.Missing != "")
}

// Messages are the verdicts of the policies that fail, in the order the
// apiserver reports them.
func (d Decision) Messages() []string {
	var out []string
	for _, m := range []string{d.Violations, d.Missing, d.BindingMissing} {
		if m != "" {
			out = append(out, m)
		}
	}
	return out
}

// TemplateMessages are the verdicts on the pod template of a workload of
// kind, worded as the template checks word them: the governing policy's
// (which follow its mode: warnings, or audit annotations in audit mode) and
// the bindings' (always a warning: their pods are always refused).
func (d Decision) TemplateMessages(kind string) (policy []string, bindings string) {
	for _, m := range []string{d.Violations, d.Missing} {
		if rest, ok := strings.CutPrefix(m, "SeccompPolicy "+d.Policy+": "); ok && d.Policy != "" {
			policy = append(policy, "SeccompPolicy "+d.Policy+", for the pods of this "+kind+": "+rest)
		}
	}
	if d.BindingMissing != "" {
		bindings = "for the pods of this " + kind + ": " + d.BindingMissing
	}
	return policy, bindings
}

// Evaluate decides a pod admission the way the compiled admission policies
// do, in Go: for the fallback webhook, `seccompctl audit` and reports, and
// so that tests can run one case table through both and prove they agree.
func Evaluate(req Request, st State) (Decision, error) {
	pod := req.Pod.DeepCopy()
	d := Decision{Pod: pod}
	if !req.Ephemeral {
		if err := bind(pod, st, &d); err != nil {
			return Decision{}, err
		}
	}
	gov := Governing(st.Policies, req.NamespaceLabels)
	if gov == nil || exempt(gov, req, st.OperatorNamespace) {
		return d, nil
	}
	d.Policy, d.Mode = gov.Name, gov.Spec.Mode
	if d.Mode == "" {
		d.Mode = v1alpha1.PolicyModeEnforce
	}
	def, err := defaultProfile(gov.Spec.DefaultProfile)
	if err != nil {
		return Decision{}, err // Governing left out every policy with such a default
	}
	if req.Ephemeral {
		d.Translated = translateEphemeral(pod, def)
	} else {
		d.Translated = translate(pod)
		if def != nil && (pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.SeccompProfile == nil) {
			d.Default = def
			if pod.Spec.SecurityContext == nil {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
			}
			pod.Spec.SecurityContext.SeccompProfile = def.DeepCopy()
		}
	}
	judged := judge(pod, req.Ephemeral)
	if len(gov.Spec.AllowedProfiles) > 0 {
		var v []string
		for _, e := range judged {
			eff := e.profile
			if eff == "" {
				eff = "Unconfined"
			}
			if !allowed(gov.Spec.AllowedProfiles, eff) {
				shown := e.profile
				if shown == "" {
					shown = "Unconfined (sets no profile: the node default)"
				}
				v = append(v, e.kind+" "+e.name+": "+shown)
			}
		}
		if len(v) > 0 {
			d.Violations = "SeccompPolicy " + gov.Name + ": seccomp profile not allowed for " + strings.Join(v, "; ") + " (allowed: " + allowedList(gov) + ")"
		}
	}
	if st.Index != nil {
		var m []string
		prefix := "localhost/" + nodepath.OperatorDir + "/"
		for _, e := range judged {
			if !strings.HasPrefix(e.profile, prefix) || !strings.HasSuffix(e.profile, nodepath.Ext) || len(e.profile) <= len(prefix)+len(nodepath.Ext) {
				continue
			}
			name := e.profile[len(prefix) : len(e.profile)-len(nodepath.Ext)]
			switch installed, exists, why := indexState(st.Index, name); {
			case installed:
			case exists:
				m = append(m, e.kind+" "+e.name+": "+e.profile+": SeccompProfile "+name+" is "+why)
			default:
				m = append(m, e.kind+" "+e.name+": "+e.profile+": no SeccompProfile "+name+" exists")
			}
		}
		if len(m) > 0 {
			d.Missing = "SeccompPolicy " + gov.Name + ": " + strings.Join(m, "; ")
		}
	}
	return d, nil
}

// Governing is the policy that governs a namespace with the given labels,
// nil for none: of the policies CheckPolicy accepts (the others take no
// part), the first in precedence whose namespaceSelector selects it.
func Governing(policies []v1alpha1.SeccompPolicy, namespaceLabels map[string]string) *v1alpha1.SeccompPolicy {
	var gov *v1alpha1.SeccompPolicy
	for i := range policies {
		p := &policies[i]
		if gov != nil && !Precedes(p, gov) || CheckPolicy(p) != nil {
			continue
		}
		if sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector); err == nil && sel.Matches(labels.Set(namespaceLabels)) {
			gov = p
		}
	}
	return gov
}

// indexState is what the index says of profile name: installed on every
// node; else whether it exists and, if so, why it is not installed.
func indexState(index *v1alpha1.SeccompProfileIndex, name string) (installed, exists bool, why string) {
	if strings.Contains(index.Installed, ","+name+",") {
		return true, true, ""
	}
	why, exists = index.NotInstalled[name]
	return false, exists, why
}

// bind writes the profiles of the namespace's ProfileBindings into the
// containers of a CREATE that set none (CompileBindings in Go), and
// records the installed-check verdict.
func bind(pod *corev1.Pod, st State, d *Decision) error {
	var mine []v1alpha1.ProfileBinding
	for _, b := range st.Bindings {
		if b.Namespace == pod.Namespace {
			mine = append(mine, b)
		}
	}
	ms := newMatchers(mine) // leaves out what CheckBinding refuses
	if len(ms) == 0 {
		return nil
	}
	var missing []string
	each := func(kind string, cs []corev1.Container) {
		for i := range cs {
			c := &cs[i]
			m := bindingFor(ms, pod.Labels, c)
			if m == nil {
				continue
			}
			b, path := m.b, m.path
			if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
				if _, ok := pod.Annotations[podprofile.ContainerAnnotationPrefix+c.Name]; ok {
					continue
				}
				if c.SecurityContext == nil {
					c.SecurityContext = &corev1.SecurityContext{}
				}
				c.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost, LocalhostProfile: &path}
				if d.Bound == nil {
					d.Bound = map[string]string{}
				}
				d.Bound[c.Name] = b.Name
			}
			// The check covers every container carrying its binding's
			// profile, as the compiled policy (which sees only the
			// mutated pod) does.
			sp := c.SecurityContext.SeccompProfile
			if sp.Type != corev1.SeccompProfileTypeLocalhost || sp.LocalhostProfile == nil || *sp.LocalhostProfile != path || st.Index == nil {
				continue
			}
			prefix := kind + " " + c.Name + ": ProfileBinding " + b.Name + " binds SeccompProfile " + b.Spec.ProfileName + ", "
			switch installed, exists, why := indexState(st.Index, b.Spec.ProfileName); {
			case installed:
			case exists:
				missing = append(missing, prefix+"which is "+why)
			default:
				missing = append(missing, prefix+"which does not exist")
			}
		}
	}
	each("init container", pod.Spec.InitContainers)
	each("container", pod.Spec.Containers)
	d.BindingMissing = strings.Join(missing, "; ")
	return nil
}

// translateEphemeral is the ephemeral-container mutation in Go: each
// ephemeral container without a field gets its legacy annotation's
// profile, else def when the pod has no pod-level profile.
func translateEphemeral(pod *corev1.Pod, def *corev1.SeccompProfile) bool {
	wrote := false
	podHas := podLevel(pod) != ""
	for i := range pod.Spec.EphemeralContainers {
		c := &pod.Spec.EphemeralContainers[i]
		if c.SecurityContext != nil && c.SecurityContext.SeccompProfile != nil {
			continue
		}
		var sp *corev1.SeccompProfile
		if v, ok := pod.Annotations[podprofile.ContainerAnnotationPrefix+c.Name]; ok {
			sp = podprofile.AnnotationProfile(v)
		} else if def != nil && !podHas {
			sp = def.DeepCopy()
		}
		if sp == nil {
			continue
		}
		if c.SecurityContext == nil {
			c.SecurityContext = &corev1.SecurityContext{}
		}
		c.SecurityContext.SeccompProfile = sp
		wrote = true
	}
	return wrote
}

// translate writes the profiles of legacy annotations into the fields
// they stand for, where the field is unset (a CREATE), and reports whether
// it wrote any.
func translate(pod *corev1.Pod) bool {
	wrote := false
	if v, ok := pod.Annotations[podprofile.PodAnnotation]; ok {
		if sp := podprofile.AnnotationProfile(v); sp != nil && (pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.SeccompProfile == nil) {
			if pod.Spec.SecurityContext == nil {
				pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
			}
			pod.Spec.SecurityContext.SeccompProfile = sp
			wrote = true
		}
	}
	set := func(name string, sc **corev1.SecurityContext) {
		v, ok := pod.Annotations[podprofile.ContainerAnnotationPrefix+name]
		if !ok || (*sc != nil && (*sc).SeccompProfile != nil) {
			return
		}
		if sp := podprofile.AnnotationProfile(v); sp != nil {
			if *sc == nil {
				*sc = &corev1.SecurityContext{}
			}
			(*sc).SeccompProfile = sp
			wrote = true
		}
	}
	for i := range pod.Spec.InitContainers {
		set(pod.Spec.InitContainers[i].Name, &pod.Spec.InitContainers[i].SecurityContext)
	}
	for i := range pod.Spec.Containers {
		set(pod.Spec.Containers[i].Name, &pod.Spec.Containers[i].SecurityContext)
	}
	return wrote
}

func exempt(p *v1alpha1.SeccompPolicy, req Request, operatorNamespace string) bool {
	ns := req.Pod.Namespace
	return slices.Contains(AlwaysExempt, ns) || ns == operatorNamespace || Exempts(p, req)
}

// Exempts reports whether the policy's own spec.exemptions cover the
// request: its namespace, user or runtime class. The namespaces every
// policy leaves alone (AlwaysExempt, the operator's) are not the policy's
// to say: admission adds them, and a report decides for itself.
func Exempts(p *v1alpha1.SeccompPolicy, req Request) bool {
	if slices.Contains(p.Spec.Exemptions.Namespaces, req.Pod.Namespace) {
		return true
	}
	if slices.Contains(p.Spec.Exemptions.Usernames, req.Username) {
		return true
	}
	rc := req.Pod.Spec.RuntimeClassName
	return rc != nil && slices.Contains(p.Spec.Exemptions.RuntimeClasses, *rc)
}

type judgedEntry struct{ kind, name, profile string }

// judge lists every container of a CREATE (the ephemeral ones of an
// ephemeral-containers UPDATE) with its effective profile in the normal
// form the CEL uses: paths as written (CEL cannot clean them), "" for the
// node default.
func judge(pod *corev1.Pod, ephemeralOnly bool) []judgedEntry {
	pod0 := podLevel(pod)
	var out []judgedEntry
	add := func(kind, name string, sc *corev1.SecurityContext) {
		p := ""
		switch {
		case sc != nil && sc.SeccompProfile != nil:
			p = goFieldForm(sc.SeccompProfile)
		default:
			if v, ok := pod.Annotations[podprofile.ContainerAnnotationPrefix+name]; ok && goAnnotationForm(v) != "" {
				p = goAnnotationForm(v)
			} else {
				p = pod0
			}
		}
		out = append(out, judgedEntry{kind, name, p})
	}
	if !ephemeralOnly {
		for _, c := range pod.Spec.InitContainers {
			add("init container", c.Name, c.SecurityContext)
		}
		for _, c := range pod.Spec.Containers {
			add("container", c.Name, c.SecurityContext)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		add("ephemeral container", c.Name, c.SecurityContext)
	}
	return out
}

// podLevel is the pod-level profile in the normal form: the field, else
// the legacy annotation, else "".
func podLevel(pod *corev1.Pod) string {
	if sc := pod.Spec.SecurityContext; sc != nil && sc.SeccompProfile != nil {
		return goFieldForm(sc.SeccompProfile)
	}
	if v, ok := pod.Annotations[podprofile.PodAnnotation]; ok {
		return goAnnotationForm(v)
	}
	return ""
}

func goFieldForm(p *corev1.SeccompProfile) string {
	if p.Type == corev1.SeccompProfileTypeLocalhost {
		if p.LocalhostProfile == nil {
			return "localhost/"
		}
		return "localhost/" + *p.LocalhostProfile
	}
	return string(p.Type)
}

// goAnnotationForm is the normal form of a legacy annotation value, ""
// for one that names no profile.
func goAnnotationForm(v string) string {
	if p := podprofile.AnnotationProfile(v); p != nil {
		return goFieldForm(p)
	}
	return ""
}

// allowed is allowedCEL in Go.
func allowed(list []v1alpha1.AllowedProfile, v string) bool {
	for _, a := range list {
		s := string(a)
		prefix, isPattern := strings.CutSuffix(s, "*")
		switch {
		case s == "*":
			return true
		case s == "RuntimeDefault" || s == "Unconfined":
			if v == s {
				return true
			}
		case strings.HasPrefix(s, "localhost/"):
			if (isPattern && strings.HasPrefix(v, prefix)) || (!isPattern && v == s) {
				return true
			}
		case isPattern:
			if strings.HasPrefix(v, "localhost/"+nodepath.OperatorDir+"/"+prefix) && strings.HasSuffix(v, nodepath.Ext) {
				return true
			}
		default:
			// CheckPolicy refuses a policy with an entry that names no
			// profile; were one to get here, it would match nothing.
			if path, err := nodepath.ProfilePath(s); err == nil && v == "localhost/"+path {
				return true
			}
		}
	}
	return false
}
