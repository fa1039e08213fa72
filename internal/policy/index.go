package policy

import (
	"maps"
	"slices"
	"strings"
	"unicode/utf8"

	admissionv1 "k8s.io/api/admissionregistration/v1"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
)

// maxIndexLiteral bounds each CEL literal of a compiled index (in bytes,
// which bounds code points): the apiserver refuses an expression of more
// than 100,000 code points. About 5000 profile names of 15 characters fit.
const maxIndexLiteral = 90000

// maxExpression is the longest CEL expression the apiserver accepts, in
// code points.
const maxExpression = 100000

// indexCEL is how the installed checks read the profile index: two CEL
// expressions, bound to the variables "installed" (",a,b,c,": the
// profiles installed on every node) and "notInstalled" (a map from each
// other existing profile to why it is not installed).
//
// Normally they are literals, compiled into the policy: the apiserver then
// reads nothing per request. Reading the index as params, a custom
// resource, makes the apiserver convert the whole object (JSON out and
// back) on every pod create: 0.3-0.4 ms of the ~1 ms the policies added at
// p50 with 1000 profiles (docs/benchmarks.md section 6). The price is a
// rewrite of the checks whenever the index changes (the controllers watch
// it). Without an index yet, or one too large for literals, the checks
// read the params as before.
type indexCEL struct {
	installed, notInstalled string
	params                  bool
	// installedSet is the installed set as a CEL map literal (keys: the
	// names), for the match conditions (withInstalled).
	installedSet string
}

// paramsIndex reads the SeccompProfileIndex bound as params.
var paramsIndex = indexCEL{
	installed:    "has(params.installed) ? params.installed : ''",
	notInstalled: "has(params.notInstalled) ? params.notInstalled : {}",
	params:       true,
}

// indexOf compiles index into literals when it is known and fits.
func indexOf(index *v1alpha1.SeccompProfileIndex) indexCEL {
	if index == nil {
		return paramsIndex
	}
	ix := indexCEL{installed: quote(index.Installed), notInstalled: mapLiteral(index.NotInstalled), installedSet: setLiteral(index.Installed)}
	if len(ix.installed) > maxIndexLiteral || len(ix.notInstalled) > maxIndexLiteral {
		return paramsIndex
	}
	return ix
}

// indexFor is index restricted to the profiles in names (nil stays nil):
// a namespace's ProfileBindings name a few profiles, and their checks
// need only those.
func indexFor(index *v1alpha1.SeccompProfileIndex, names []string) *v1alpha1.SeccompProfileIndex {
	if index == nil {
		return nil
	}
	sub := &v1alpha1.SeccompProfileIndex{NotInstalled: map[string]string{}}
	var installed []string
	for _, n := range names {
		if strings.Contains(index.Installed, ","+n+",") {
			installed = append(installed, n)
		} else if why, ok := index.NotInstalled[n]; ok {
			sub.NotInstalled[n] = why
		}
	}
	if installed = slices.Compact(slices.Sorted(slices.Values(installed))); len(installed) > 0 {
		sub.Installed = "," + strings.Join(installed, ",") + ","
	}
	return sub
}

// mapLiteral is a CEL map literal of m, keys sorted (so the same index
// compiles to the same expression and rewrites nothing).
func mapLiteral(m map[string]string) string {
	var b strings.Builder
	b.WriteString("{")
	for i, k := range slices.Sorted(maps.Keys(m)) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(quote(k) + ": " + quote(m[k]))
	}
	b.WriteString("}")
	return b.String()
}

// setLiteral is a CEL map literal whose keys are the names of the
// index's installed set (",a,b,": {"a": true, "b": true}).
func setLiteral(installed string) string {
	var b strings.Builder
	b.WriteString("{")
	for name := range strings.SplitSeq(strings.Trim(installed, ","), ",") {
		if name == "" {
			continue
		}
		if b.Len() > 1 {
			b.WriteString(",")
		}
		b.WriteString(quote(name) + ":true")
	}
	b.WriteString("}")
	return b.String()
}

// set is a CEL expression of the installed set: the index's string
// ",a,b," (a variable, params) or a map whose keys are the names (a
// match condition's literal, see withInstalled).
type set struct {
	cel   string
	isMap bool
}

// variableSet is the installed set the policies' variables hold.
var variableSet = set{cel: "variables.installed"}

// has holds when the set holds the profile name (a CEL string).
func (s set) has(name string) string {
	if s.isMap {
		return name + " in " + s.cel
	}
	return s.cel + ".contains(',' + " + name + " + ',')"
}

// withInstalled is expr, given the installed set, for a match condition,
// which cannot read variables: the installed set is bound as a literal to
// a comprehension variable ([x].all(x, ...), as CEL has no let). It is a
// map: the apiserver's cost tracking measures a string argument of every
// call (contains) by counting its runes, a pass over the whole index per
// lookup, while a map lookup costs it nothing. While the index is read as
// params, or where the literal would make the expression longer than the
// apiserver accepts, the set is empty: an operator profile then counts as
// not installed, and the condition lets the policy judge it.
func (ix indexCEL) withInstalled(expr func(s set) string) string {
	if !ix.params {
		if e := "[" + ix.installedSet + "].all(installed, " + expr(set{cel: "installed", isMap: true}) + ")"; utf8.RuneCountInString(e) <= maxExpression {
			return e
		}
	}
	return expr(set{cel: "{}", isMap: true})
}

func (ix indexCEL) variables() []admissionv1.Variable {
	return []admissionv1.Variable{{Name: "installed", Expression: ix.installed}, {Name: "notInstalled", Expression: ix.notInstalled}}
}

// paramKind is the policy's param kind: the index, or none for literals.
func (ix indexCEL) paramKind() *admissionv1.ParamKind {
	if !ix.params {
		return nil
	}
	return &admissionv1.ParamKind{APIVersion: v1alpha1.GroupVersion.String(), Kind: "SeccompProfileIndex"}
}
