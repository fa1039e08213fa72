package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	toolscache "k8s.io/client-go/tools/cache"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
	"github.com/seccomp-operator/seccomp-operator/pkg/seccomp/syscalls"
)

// profileListWatch lists and watches every SeccompProfile like client-go's
// ListWatch, but decodes the watch stream itself.
//
// Every node watches every profile, and during a rollout each profile
// arrives about twice (created, then its status written by the manager).
// Custom resources travel as JSON only, and client-go reads each event
// about four times over: framing, the envelope, the object's kind, the
// object (22 % of an agent's CPU in the 100-node benchmark, with the
// garbage that follows). profileDecoder reads the envelope's tokens and
// decodes the object once, straight into what a node keeps: name, UID,
// versions, labels and spec. The status and managed fields are scanned
// past without being built. (Lists, at start and after an expired watch,
// keep client-go's decoding; with watch-list streaming, the default, the
// initial state arrives as watch events too.) A watch from a known version
// outlives the apiserver's closing of its stream: resumingWatch.
func profileListWatch(c *rest.RESTClient, known knownSpec) *toolscache.ListWatch {
	const resource = "seccompprofiles"
	lw := toolscache.NewListWatchFromClient(c, resource, metav1.NamespaceAll, fields.Everything())
	stream := func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		opts.Watch = true
		body, err := c.Get().Resource(resource).VersionedParams(&opts, metav1.ParameterCodec).Stream(ctx)
		if err != nil {
			return nil, err
		}
		return watch.NewStreamWatcher(newProfileDecoder(body, known),
			apierrors.NewClientErrorReporter(http.StatusInternalServerError, "GET", "ClientWatchDecoding")), nil
	}
	lw.WatchFuncWithContext = stream
	return nodekube.ResumeWatches(lw)
}

// knownSpec returns the spec the node already holds for a profile's spec
// version (name, UID and generation: a spec change always bumps the
// generation), if it holds that version. The manager's status writes, as
// many events as the creates during a rollout, then cost a node a scan of
// the spec instead of building it again.
type knownSpec func(name string, uid types.UID, generation int64) (v1alpha1.SeccompProfileSpec, bool)

// profileDecoder decodes a JSON watch stream of SeccompProfiles
// (watch.Decoder).
type profileDecoder struct {
	body  io.ReadCloser
	dec   *json.Decoder
	known knownSpec // may be nil
	// skip holds what is scanned past (status, managed fields, a known
	// spec); reused, so skipping allocates nothing once it has grown.
	skip json.RawMessage
}

var _ watch.Decoder = (*profileDecoder)(nil)

func newProfileDecoder(body io.ReadCloser, known knownSpec) *profileDecoder {
	return &profileDecoder{body: body, dec: json.NewDecoder(body), known: known}
}

// wireMeta is the part of an object's metadata a node reads. Annotations
// are decoded only for bookmarks, where they carry the end of the initial
// events (kubectl's last-applied copy would otherwise double a profile).
type wireMeta struct {
	Name            string            `json:"name"`
	UID             types.UID         `json:"uid"`
	ResourceVersion string            `json:"resourceVersion"`
	Generation      int64             `json:"generation"`
	Labels          map[string]string `json:"labels"`
}

type wireBookmark struct {
	Metadata struct {
		ResourceVersion string            `json:"resourceVersion"`
		Annotations     map[string]string `json:"annotations"`
	} `json:"metadata"`
}

// Decode reads the next event: {"type": ..., "object": {...}}. The
// apiserver writes the type first; an object that comes first is kept raw
// and decoded once the type is known.
func (d *profileDecoder) Decode() (watch.EventType, runtime.Object, error) {
	if err := delim(d.dec, '{'); err != nil {
		return "", nil, err
	}
	var (
		typ watch.EventType
		obj runtime.Object
		raw json.RawMessage
	)
	for d.dec.More() {
		tok, err := d.dec.Token()
		if err != nil {
			return "", nil, err
		}
		switch key, _ := tok.(string); key {
		case "type":
			if err := d.dec.Decode(&typ); err != nil {
				return "", nil, fmt.Errorf("watch event type: %w", err)
			}
		case "object":
			if typ == "" {
				if err := d.dec.Decode(&raw); err != nil {
					return "", nil, fmt.Errorf("watch event object: %w", err)
				}
				continue
			}
			if obj, err = d.decodeEventObject(typ, d.dec); err != nil {
				return "", nil, err
			}
		default:
			if err := d.dec.Decode(&d.skip); err != nil {
				return "", nil, err
			}
		}
	}
	if err := delim(d.dec, '}'); err != nil {
		return "", nil, err
	}
	if obj == nil && raw != nil {
		var err error
		if obj, err = d.decodeEventObject(typ, json.NewDecoder(bytes.NewReader(raw))); err != nil {
			return "", nil, err
		}
	}
	if obj == nil {
		return "", nil, fmt.Errorf("watch event %q without an object", typ)
	}
	return typ, obj, nil
}

// delim reads the next token, which must be want.
func delim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err // io.EOF at the end of the stream: the watch ended
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return fmt.Errorf("watch stream: want %q, got %v", want, tok)
	}
	return nil
}

// decodeEventObject decodes the object of an event of type typ from dec.
func (d *profileDecoder) decodeEventObject(typ watch.EventType, dec *json.Decoder) (runtime.Object, error) {
	switch typ {
	case watch.Added, watch.Modified, watch.Deleted:
		sp, err := d.decodeProfile(dec)
		if err != nil {
			return nil, fmt.Errorf("decode %s SeccompProfile: %w", typ, err)
		}
		return sp, nil
	case watch.Bookmark:
		var w wireBookmark
		if err := dec.Decode(&w); err != nil {
			return nil, fmt.Errorf("decode bookmark: %w", err)
		}
		sp := &v1alpha1.SeccompProfile{}
		sp.ResourceVersion, sp.Annotations = w.Metadata.ResourceVersion, w.Metadata.Annotations
		return sp, nil
	case watch.Error:
		st := &metav1.Status{}
		if err := dec.Decode(st); err != nil {
			return nil, fmt.Errorf("decode watch error: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("got invalid watch event type: %q", typ)
}

// decodeProfile reads a profile object field by field, keeping what a node
// keeps. The apiserver writes metadata before spec (keys in order), so the
// spec version is known when the spec comes: a version the node holds is
// scanned past and the held spec shared.
func (d *profileDecoder) decodeProfile(dec *json.Decoder) (*v1alpha1.SeccompProfile, error) {
	if err := delim(dec, '{'); err != nil {
		return nil, err
	}
	sp := &v1alpha1.SeccompProfile{}
	haveMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		switch key, _ := tok.(string); key {
		case "apiVersion":
			err = dec.Decode(&sp.APIVersion)
		case "kind":
			err = dec.Decode(&sp.Kind)
		case "metadata":
			var m wireMeta
			if err = dec.Decode(&m); err == nil {
				sp.Name, sp.UID, sp.ResourceVersion, sp.Generation, sp.Labels = m.Name, m.UID, m.ResourceVersion, m.Generation, m.Labels
				haveMeta = true
			}
		case "spec":
			if haveMeta && d.known != nil {
				if spec, ok := d.known(sp.Name, sp.UID, sp.Generation); ok {
					// Scanned, so a broken spec is still an error.
					if err = dec.Decode(&d.skip); err == nil {
						sp.Spec = spec
					}
					break
				}
			}
			// Fresh, never into a shared spec (a repeated key).
			sp.Spec = v1alpha1.SeccompProfileSpec{}
			if err = dec.Decode(&sp.Spec); err == nil {
				internNames(&sp.Spec)
			}
		default:
			err = dec.Decode(&d.skip)
		}
		if err != nil {
			return nil, err
		}
	}
	if err := delim(dec, '}'); err != nil {
		return nil, err
	}
	return sp, nil
}

// internNames replaces the syscall names of a freshly decoded spec by the
// syscall tables' copies: the node keeps every profile's spec, and a
// thousand profiles name the same few hundred syscalls.
func internNames(spec *v1alpha1.SeccompProfileSpec) {
	for i := range spec.Syscalls {
		names := spec.Syscalls[i].Names
		for j, n := range names {
			names[j] = syscalls.Intern(n)
		}
	}
}

// Close ends the stream.
func (d *profileDecoder) Close() { _ = d.body.Close() }
