// Package profilefile reads the files users hand to seccompctl: it splits
// one into its profile documents (OCI seccomp JSON, SeccompProfile objects
// as YAML or JSON, Lists of them) and names what any other input is. It is
// a package of its own, apart from the commands, because it parses outside
// input: its fuzz target builds without the rest of seccompctl.
package profilefile

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodepath"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/profile"
)

// Source is a profile as read, before Docker conditionals are resolved.
type Source struct {
	Name    string
	Profile *profile.Profile
	// Notes are parse-time notes (unknown JSON fields, duplicate keys).
	Notes profile.Issues
	// CRD is set when the input was a SeccompProfile object.
	CRD *v1alpha1.SeccompProfile
}

// Document is one profile of an input, or why it is not a usable one.
type Document struct {
	// Name is the input's name, with the document's place in it when the
	// input holds several ("p.yaml (document 2)", "list.yaml items[3]").
	Name string
	Src  *Source
	Err  error
}

// The forms users hand to seccompctl that are not a profile of their own,
// recognised so that the error says what the input is.
const (
	spoGroup = "security-profiles-operator.x-k8s.io"
	// profileFormats is what seccompctl reads, for error messages.
	profileFormats = "OCI seccomp JSON (as runc, containerd, Docker, CRI-O and Podman read it) or a SeccompProfile object (apiVersion " + "seccomp-operator.dev/v1alpha1" + ")"
)

var bom = []byte("\xef\xbb\xbf")

// Parse splits data into its profile documents:
//   - JSON (the first character is '{'): one OCI profile, or one object
//     (a SeccompProfile or a List of them, as `kubectl get -o json` prints);
//   - otherwise YAML: every document of the stream ("---" between them),
//     each a SeccompProfile object or a List of them.
//
// The error is for data as a whole: empty, binary, or another tool's
// output. Everything else, including objects that are not seccomp-operator
// profiles, becomes a document with Err naming what it is and what to do.
func Parse(name string, data []byte) ([]Document, error) {
	var notes profile.Issues
	hadBOM := bytes.HasPrefix(data, bom)
	data = bytes.TrimPrefix(data, bom)
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return nil, fmt.Errorf("%s: empty: no profile in it (seccompctl reads %s)", name, profileFormats)
	case bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data):
		return nil, fmt.Errorf("%s: binary data, not a profile (a compiled filter, as `seccompctl compile --format raw` writes, cannot be read back): give the profile's JSON or YAML source", name)
	case bytes.Contains(trimmed[:min(len(trimmed), 200)], []byte("pseudo filter code")):
		return nil, fmt.Errorf("%s: libseccomp pseudo filter code (seccomp_export_pfc output), not a profile: give the JSON profile it was made from", name)
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		if hadBOM {
			return nil, fmt.Errorf("%s: starts with a UTF-8 byte order mark, which runc, containerd and CRI-O reject in JSON: save the file without it", name)
		}
		if trimmed[0] == '[' {
			return nil, fmt.Errorf("%s: a JSON array, not a profile: a profile file holds one JSON object (defaultAction, syscalls, ...)", name)
		}
		return classify(name, data, data, false, 0), nil
	}
	if hadBOM {
		notes = append(notes, profile.Issue{Field: "file", Message: "starts with a UTF-8 byte order mark; kubectl and seccompctl skip it, other YAML tools may not", Severity: profile.SeverityNote})
	}
	raws, names, err := SplitYAML(name, data)
	if err != nil {
		return nil, err
	}
	var docs []Document
	for i, raw := range raws {
		docs = append(docs, yamlDocument(names[i], raw)...)
	}
	for _, d := range docs {
		if d.Src != nil {
			d.Src.Notes = append(append(profile.Issues(nil), notes...), d.Src.Notes...)
		}
	}
	return docs, nil
}

// SplitYAML returns the documents of a YAML stream that hold more than
// blanks and comments, and a name for each: name itself when there is one,
// else "name (document N)" counting every document of the stream.
func SplitYAML(name string, data []byte) ([][]byte, []string, error) {
	var raws [][]byte
	var nums []int
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for n := 1; ; n++ {
		raw, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: split YAML documents: %w", name, err)
		}
		if isBlankYAML(raw) {
			continue // "---" at the start or the end, or between comments
		}
		raws, nums = append(raws, raw), append(nums, n)
	}
	if len(raws) == 0 {
		return nil, nil, fmt.Errorf("%s: only YAML comments, nothing in it", name)
	}
	names := make([]string, len(raws))
	for i := range raws {
		names[i] = name
		if len(raws) > 1 {
			names[i] = fmt.Sprintf("%s (document %d)", name, nums[i])
		}
	}
	return raws, names, nil
}

func yamlDocument(name string, raw []byte) []Document {
	j, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return []Document{{Name: name, Err: fmt.Errorf("not valid YAML: %w", err)}}
	}
	return classify(name, j, raw, true, 0)
}

// isBlankYAML reports whether a YAML document holds only blanks and comments.
func isBlankYAML(doc []byte) bool {
	for _, line := range strings.Split(string(doc), "\n") {
		l := strings.TrimSpace(line)
		if l != "" && !strings.HasPrefix(l, "#") && l != "---" && l != "..." {
			return false
		}
	}
	return true
}

// header is what classify reads of any document to tell what it is.
type header struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Items      []json.RawMessage `json:"items"`
}

// classify turns one document (as JSON; raw is the text as written) into
// a profile or an error saying what else it is.
func classify(name string, j, raw []byte, fromYAML bool, depth int) []Document {
	fail := func(format string, a ...any) []Document {
		return []Document{{Name: name, Err: fmt.Errorf(format, a...)}}
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(j, &top); err != nil {
		if fromYAML {
			return fail("a YAML %s, not an object: seccompctl reads %s", yamlShape(j), profileFormats)
		}
		// Not one JSON object: the profile parser says where and why.
		_, _, err := profile.ParseStrict(raw)
		if err == nil {
			err = errors.New("not a JSON object")
		}
		return []Document{{Name: name, Err: err}}
	}
	var h header
	_ = json.Unmarshal(j, &h) // a field of another type: h keeps what fits
	group, _, _ := strings.Cut(h.APIVersion, "/")
	if !strings.Contains(h.APIVersion, "/") {
		group = ""
	}
	switch {
	case h.Kind == "SeccompProfile" && h.APIVersion == v1alpha1.GroupVersion.String():
		return []Document{crdDocument(name, j)}
	case h.Kind == "SeccompProfile" && group == spoGroup:
		return fail("a security-profiles-operator SeccompProfile (%s), not seccomp-operator's: set apiVersion to %s and check its spec with this command (or give its spec as OCI JSON)", h.APIVersion, v1alpha1.GroupVersion)
	case h.Kind == "SeccompProfile" && group == v1alpha1.GroupVersion.Group:
		return fail("apiVersion %s is not one this seccompctl knows: it reads %s", h.APIVersion, v1alpha1.GroupVersion)
	case h.Kind == "SeccompProfile":
		return fail("a SeccompProfile of apiVersion %q, not seccomp-operator's (%s): set apiVersion to %s if its spec is one", h.APIVersion, v1alpha1.GroupVersion, v1alpha1.GroupVersion)
	case strings.HasSuffix(h.Kind, "List") && top["items"] != nil:
		if depth > 0 {
			return fail("a %s inside a list: seccompctl reads one level of items", h.Kind)
		}
		return listDocuments(name, h)
	case h.Kind != "":
		return fail("a %s (apiVersion %q), not a seccomp profile: seccompctl reads %s; a pod names its profile in securityContext.seccompProfile, validate that profile's file", h.Kind, h.APIVersion, profileFormats)
	case h.APIVersion != "":
		return fail("apiVersion %q without a kind: a SeccompProfile object needs kind: SeccompProfile", h.APIVersion)
	}
	if w := wrapped(top); w != "" {
		return fail("%s", w)
	}
	if fromYAML {
		return fail("an OCI seccomp profile written as YAML, which runtimes do not read: write it as JSON, or as a SeccompProfile object (apiVersion %s, kind SeccompProfile, metadata.name, the fields under spec)", v1alpha1.GroupVersion)
	}
	p, notes, err := profile.ParseStrict(raw)
	if err != nil {
		return []Document{{Name: name, Err: err}}
	}
	return []Document{{Name: name, Src: &Source{Name: name, Profile: p, Notes: notes}}}
}

// wrapped recognises a profile nested in another object: {"seccomp": {...}}
// (a copy from a config file) or an OCI runtime bundle's config.json.
func wrapped(top map[string]json.RawMessage) string {
	if _, ok := top["defaultAction"]; ok {
		return ""
	}
	if inner, ok := top["seccomp"]; ok && len(top) == 1 && isObject(inner) {
		return `a profile wrapped in {"seccomp": ...}: runtimes read the profile object itself (defaultAction, syscalls, ...) at the top of the file: unwrap it`
	}
	var linux struct {
		Seccomp json.RawMessage `json:"seccomp"`
	}
	if l, ok := top["linux"]; ok && json.Unmarshal(l, &linux) == nil && isObject(linux.Seccomp) {
		return "an OCI runtime configuration (config.json), not a profile: save its linux.seccomp object as a file of its own and give that"
	}
	return ""
}

func isObject(j json.RawMessage) bool {
	t := bytes.TrimSpace(j)
	return len(t) > 0 && t[0] == '{'
}

func yamlShape(j []byte) string {
	t := bytes.TrimSpace(j)
	switch {
	case len(t) > 0 && t[0] == '[':
		return "list"
	case string(t) == "null":
		return "null"
	}
	return "scalar"
}

// listDocuments reads each item of a List (`kubectl get -o yaml` prints
// one) as a document of its own.
func listDocuments(name string, h header) []Document {
	var docs []Document
	for i, it := range h.Items {
		docs = append(docs, classify(fmt.Sprintf("%s items[%d]", name, i), it, it, false, 1)...)
	}
	if len(docs) == 0 {
		return []Document{{Name: name, Err: fmt.Errorf("a %s without items: no profile in it", h.Kind)}}
	}
	return docs
}

// crdDocument decodes a SeccompProfile object strictly (unknown fields are
// errors, as kubectl's strict field validation makes them) and checks its
// name with the node-path rule the apiserver's objects obey.
func crdDocument(name string, j []byte) Document {
	var obj v1alpha1.SeccompProfile
	dec := json.NewDecoder(bytes.NewReader(j))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		if strings.Contains(err.Error(), "unknown field") {
			err = fmt.Errorf("%w (kubectl refuses unknown fields too: check the spelling with `kubectl explain seccompprofiles.spec`)", err)
		}
		return Document{Name: name, Err: fmt.Errorf("SeccompProfile: %w", err)}
	}
	if err := nodepath.ValidateName(obj.Name); err != nil {
		return Document{Name: name, Err: fmt.Errorf("SeccompProfile: metadata.name: %w", err)}
	}
	p := obj.Spec.ToProfile()
	if b := obj.Spec.BaseProfileName; b != "" {
		var err error
		if p, err = flattenOnPredefined(obj.Name, b, p); err != nil {
			return Document{Name: name, Err: fmt.Errorf("SeccompProfile: %w", err)}
		}
	}
	return Document{Name: name, Src: &Source{Name: obj.Name, Profile: p, CRD: &obj}}
}
