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

// Request is what Evaluate needs to know of a pod CREATE.
type Request struct {
	Pod             *corev1.Pod
	NamespaceLabels map[string]string
	Username        string
}

// Decision is what the admission policies compiled from the cluster's
// SeccompPolicies do with a pod CREATE: which policy governs it, the
// pod-level default they write (nil: none), and the messages of each
// validating policy that fails, under the policy's mode.
type Decision struct {
	Policy string // "" when no policy governs the pod
	// Pod is the pod as the mutating policy leaves it: legacy annotations
	// translated into fields, the default where nothing is set.
	Pod *corev1.Pod
	// Default is the pod-level default written (nil: none).
	Default *corev1.SeccompProfile
	// Translated is whether a legacy annotation was written into a field.
	Translated bool
	Mode       v1alpha1.PolicyMode
	// Violations are the allowed-list messages, Missing the
	// installed-check messages, each exactly as the apiserver words them.
	Violations, Missing string
}

// Refused reports whether the apiserver rejects the pod.
func (d Decision) Refused() bool {
	return d.Mode == v1alpha1.PolicyModeEnforce && (d.Violations != "" || d.Missing != "")
}

// Evaluate decides a pod CREATE the way the compiled admission policies do,
// in Go: for the fallback webhook, `seccompctl audit` and reports, and so
// that tests can run one case table through both and prove they agree.
// index is the SeccompProfileIndex (nil: none published, so the installed
// check admits, like its binding's parameterNotFoundAction).
func Evaluate(req Request, all []v1alpha1.SeccompPolicy, index *v1alpha1.SeccompProfileIndex, operatorNamespace string) (Decision, error) {
	var gov *v1alpha1.SeccompPolicy
	for i := range all {
		p := &all[i]
		sel, err := metav1.LabelSelectorAsSelector(&p.Spec.NamespaceSelector)
		if err != nil {
			return Decision{}, err
		}
		if sel.Matches(labels.Set(req.NamespaceLabels)) && (gov == nil || Precedes(p, gov)) {
			gov = p
		}
	}
	if gov == nil || exempt(gov, req, operatorNamespace) {
		return Decision{Pod: req.Pod}, nil
	}
	d := Decision{Policy: gov.Name, Mode: gov.Spec.Mode}
	if d.Mode == "" {
		d.Mode = v1alpha1.PolicyModeEnforce
	}
	pod := req.Pod.DeepCopy()
	d.Translated = translate(pod)
	if def := gov.Spec.DefaultProfile; def != nil && (pod.Spec.SecurityContext == nil || pod.Spec.SecurityContext.SeccompProfile == nil) {
		d.Default = &corev1.SeccompProfile{Type: corev1.SeccompProfileType(def.Type)}
		if def.Type == "Localhost" {
			p := localhostPath(def)
			d.Default.LocalhostProfile = &p
		}
		if pod.Spec.SecurityContext == nil {
			pod.Spec.SecurityContext = &corev1.PodSecurityContext{}
		}
		pod.Spec.SecurityContext.SeccompProfile = d.Default
	}
	d.Pod = pod
	judged := judge(pod)
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
	if index != nil {
		var m []string
		prefix := "localhost/" + nodepath.OperatorDir + "/"
		for _, e := range judged {
			if !strings.HasPrefix(e.profile, prefix) || !strings.HasSuffix(e.profile, nodepath.Ext) || len(e.profile) <= len(prefix)+len(nodepath.Ext) {
				continue
			}
			name := e.profile[len(prefix) : len(e.profile)-len(nodepath.Ext)]
			if strings.Contains(index.Installed, ","+name+",") {
				continue
			}
			if why, ok := index.NotInstalled[name]; ok {
				m = append(m, e.kind+" "+e.name+": "+e.profile+": SeccompProfile "+name+" is "+why)
			} else {
				m = append(m, e.kind+" "+e.name+": "+e.profile+": no SeccompProfile "+name+" exists")
			}
		}
		if len(m) > 0 {
			d.Missing = "SeccompPolicy " + gov.Name + ": " + strings.Join(m, "; ")
		}
	}
	return d, nil
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
	if slices.Contains(AlwaysExempt, ns) || ns == operatorNamespace || slices.Contains(p.Spec.Exemptions.Namespaces, ns) {
		return true
	}
	if slices.Contains(p.Spec.Exemptions.Usernames, req.Username) {
		return true
	}
	rc := req.Pod.Spec.RuntimeClassName
	return rc != nil && slices.Contains(p.Spec.Exemptions.RuntimeClasses, *rc)
}

type judgedEntry struct{ kind, name, profile string }

// judge lists every container of a CREATE with its effective profile in
// the normal form the CEL uses: paths as written (CEL cannot clean them),
// "" for the node default.
func judge(pod *corev1.Pod) []judgedEntry {
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
	for _, c := range pod.Spec.InitContainers {
		add("init container", c.Name, c.SecurityContext)
	}
	for _, c := range pod.Spec.Containers {
		add("container", c.Name, c.SecurityContext)
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
			if v == "localhost/"+nodepath.ProfilePath(s) {
				return true
			}
		}
	}
	return false
}
