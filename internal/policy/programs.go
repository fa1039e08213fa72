package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/sync/singleflight"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/policy/celeval"
)

// The roles of the validating policies Evaluate runs.
const (
	roleValidating = iota + 1
	roleInstalled
	roleTemplates
	roleBindings
	roleBindingsTemplates
	// In-process only, never applied to a cluster: which policy governs
	// the pod (governsProbe) and which binding bound each container
	// (boundProbe).
	roleGoverns
	roleBound
)

type role struct {
	kind int
	name string // the policy's, or the bindings' namespace
}

// part are the compiled programs of one piece of a State, shared by every
// State that has it: the policies' pod checks, their template checks, the
// ProfileBindings of one namespace. A webhook's states differ by
// namespace (each has its own bindings) while the policies are the same.
type part struct {
	programs *celeval.Programs
	roles    map[string]role // by validating policy
}

// parts caches the compiled parts by partKey. Compiling is costly (each
// policy's CEL is parsed and checked); the states a webhook sees change
// rarely.
var parts = struct {
	sync.Mutex
	m map[string]*part
}{m: map[string]*part{}}

// partsSize bounds parts.
const partsSize = 256

// compiling lets the requests that miss the same part at once (a webhook
// under load, when the index changes) wait for one compilation.
var compiling singleflight.Group

// cachedPart is the part of key, compiled by compile when not cached.
func cachedPart(key string, compile func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error) (*part, error) {
	parts.Lock()
	p := parts.m[key]
	parts.Unlock()
	if p != nil {
		return p, nil
	}
	v, err, _ := compiling.Do(key, func() (any, error) {
		p := &part{roles: map[string]role{}}
		var mut []celeval.Mutating
		var val []celeval.Validating
		add := func(vap *admissionv1.ValidatingAdmissionPolicy, b *admissionv1.ValidatingAdmissionPolicyBinding, r role) {
			if vap != nil {
				val = append(val, celeval.Validating{Policy: vap, Binding: b})
				p.roles[vap.Name] = r
			}
		}
		if err := compile(add, &mut); err != nil {
			return nil, err
		}
		var err error
		if p.programs, err = celeval.Compile(mut, val); err != nil {
			return nil, err
		}
		parts.Lock()
		if len(parts.m) >= partsSize {
			clear(parts.m)
		}
		parts.m[key] = p
		parts.Unlock()
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*part), nil
}

// partsFor are the compiled parts a request in namespace ns needs: the
// policies' pod checks, or (workload) their template checks, and the
// namespace's bindings. Policies or bindings that do not compile are left
// out, as the controllers leave them unapplied (their statuses say why).
func partsFor(st State, ns string, workload bool) ([]*part, error) {
	var mine []v1alpha1.ProfileBinding
	for _, b := range st.Bindings {
		if b.Namespace == ns {
			mine = append(mine, b)
		}
	}
	policies, index := policiesKey(st), objectKey("i", st.Index)
	var out []*part
	if !workload {
		p, err := cachedPart("pods|"+policies+index, func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error {
			for i := range st.Policies {
				p := &st.Policies[i]
				o, err := Compile(p, st.Policies, st.OperatorNamespace, nil, st.Index)
				if err != nil {
					continue
				}
				*mut = append(*mut, celeval.Mutating{Policy: o.Mutating, Binding: o.MutatingBinding})
				add(o.Validating, o.ValidatingBind, role{roleValidating, p.Name})
				add(o.Installed, o.InstalledBind, role{roleInstalled, p.Name})
				probe, bind := governsProbe(p.Name, o)
				add(probe, bind, role{roleGoverns, p.Name})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	} else {
		// The template checks carry the bindings (of every namespace
		// given: they choose by the request's).
		var bindings strings.Builder
		for i := range st.Bindings {
			bindings.WriteString(objectKey("b", &st.Bindings[i]))
		}
		p, err := cachedPart("templates|"+policies+index+bindings.String(), func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), _ *[]celeval.Mutating) error {
			for i := range st.Policies {
				p := &st.Policies[i]
				if o, err := Compile(p, st.Policies, st.OperatorNamespace, st.Bindings, st.Index); err == nil {
					add(o.Templates, o.TemplatesBind, role{roleTemplates, p.Name})
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(mine) == 0 {
		return out, nil
	}
	key := "bindings|" + ns + index
	for i := range mine {
		key += objectKey("b", &mine[i])
	}
	p, err := cachedPart(key, func(add func(*admissionv1.ValidatingAdmissionPolicy, *admissionv1.ValidatingAdmissionPolicyBinding, role), mut *[]celeval.Mutating) error {
		o, err := CompileBindings(ns, mine, st.Index)
		if err != nil || o.Mutating == nil {
			return nil
		}
		*mut = append(*mut, celeval.Mutating{Policy: o.Mutating, Binding: o.MutatingBinding})
		add(o.Installed, o.InstalledBind, role{roleBindings, ns})
		add(o.Templates, o.TemplatesBind, role{roleBindingsTemplates, ns})
		probe, bind := boundProbe(ns, o)
		add(probe, bind, role{roleBound, ns})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return append(out, p), nil
}

// policiesKey identifies the policies of st and what else their pod checks
// are compiled from.
func policiesKey(st State) string {
	var b strings.Builder
	b.WriteString(st.OperatorNamespace)
	for i := range st.Policies {
		b.WriteString(objectKey("p", &st.Policies[i]))
	}
	return b.String()
}

// objectKey identifies an object the programs are compiled from: a
// policy by its generation (its status changes nothing compiled), a
// binding or the index by its resourceVersion; one that has neither (read
// from a file, or built by a test) by its content. nil is "".
func objectKey(kind string, o interface {
	metav1.Object
	runtime.Object
}) string {
	if o == nil || reflect.ValueOf(o).IsNil() {
		return ""
	}
	key := "|" + kind + "/" + o.GetNamespace() + "/" + o.GetName() + "/" + string(o.GetUID())
	switch {
	case kind == "p" && o.GetUID() != "" && o.GetGeneration() != 0:
		return key + "/" + strconv.FormatInt(o.GetGeneration(), 10)
	case o.GetResourceVersion() != "":
		return key + "/" + o.GetResourceVersion()
	}
	j, _ := json.Marshal(o)
	sum := sha256.Sum256(j)
	return key + "#" + hex.EncodeToString(sum[:])
}
