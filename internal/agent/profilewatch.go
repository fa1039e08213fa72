package agent

import (
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
// initial state arrives as watch events too.)
func profileListWatch(c *rest.RESTClient) *toolscache.ListWatch {
	const resource = "seccompprofiles"
	lw := toolscache.NewListWatchFromClient(c, resource, metav1.NamespaceAll, fields.Everything())
	watchFn := func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
		opts.Watch = true
		body, err := c.Get().Resource(resource).VersionedParams(&opts, metav1.ParameterCodec).Stream(ctx)
		if err != nil {
			return nil, err
		}
		return watch.NewStreamWatcher(newProfileDecoder(body),
			apierrors.NewClientErrorReporter(http.StatusInternalServerError, "GET", "ClientWatchDecoding")), nil
	}
	lw.WatchFuncWithContext = watchFn
	lw.WatchFunc = func(opts metav1.ListOptions) (watch.Interface, error) { return watchFn(context.Background(), opts) }
	return lw
}

// profileDecoder decodes a JSON watch stream of SeccompProfiles
// (watch.Decoder).
type profileDecoder struct {
	body io.ReadCloser
	dec  *json.Decoder
}

var _ watch.Decoder = (*profileDecoder)(nil)

func newProfileDecoder(body io.ReadCloser) *profileDecoder {
	return &profileDecoder{body: body, dec: json.NewDecoder(body)}
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

type wireProfile struct {
	APIVersion string                      `json:"apiVersion"`
	Kind       string                      `json:"kind"`
	Metadata   wireMeta                    `json:"metadata"`
	Spec       v1alpha1.SeccompProfileSpec `json:"spec"`
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
	if err := d.delim('{'); err != nil {
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
			if obj, err = decodeEventObject(typ, d.dec.Decode); err != nil {
				return "", nil, err
			}
		default:
			var skip json.RawMessage
			if err := d.dec.Decode(&skip); err != nil {
				return "", nil, err
			}
		}
	}
	if err := d.delim('}'); err != nil {
		return "", nil, err
	}
	if obj == nil && raw != nil {
		var err error
		if obj, err = decodeEventObject(typ, func(v any) error { return json.Unmarshal(raw, v) }); err != nil {
			return "", nil, err
		}
	}
	if obj == nil {
		return "", nil, fmt.Errorf("watch event %q without an object", typ)
	}
	return typ, obj, nil
}

// delim reads the next token, which must be want.
func (d *profileDecoder) delim(want json.Delim) error {
	tok, err := d.dec.Token()
	if err != nil {
		return err // io.EOF at the end of the stream: the watch ended
	}
	if got, ok := tok.(json.Delim); !ok || got != want {
		return fmt.Errorf("watch stream: want %q, got %v", want, tok)
	}
	return nil
}

// decodeEventObject decodes the object of an event of type typ with decode.
func decodeEventObject(typ watch.EventType, decode func(any) error) (runtime.Object, error) {
	switch typ {
	case watch.Added, watch.Modified, watch.Deleted:
		var w wireProfile
		if err := decode(&w); err != nil {
			return nil, fmt.Errorf("decode %s SeccompProfile: %w", typ, err)
		}
		sp := &v1alpha1.SeccompProfile{Spec: w.Spec}
		sp.APIVersion, sp.Kind = w.APIVersion, w.Kind
		m := w.Metadata
		sp.Name, sp.UID, sp.ResourceVersion, sp.Generation, sp.Labels = m.Name, m.UID, m.ResourceVersion, m.Generation, m.Labels
		return sp, nil
	case watch.Bookmark:
		var w wireBookmark
		if err := decode(&w); err != nil {
			return nil, fmt.Errorf("decode bookmark: %w", err)
		}
		sp := &v1alpha1.SeccompProfile{}
		sp.ResourceVersion, sp.Annotations = w.Metadata.ResourceVersion, w.Metadata.Annotations
		return sp, nil
	case watch.Error:
		st := &metav1.Status{}
		if err := decode(st); err != nil {
			return nil, fmt.Errorf("decode watch error: %w", err)
		}
		return st, nil
	}
	return nil, fmt.Errorf("got invalid watch event type: %q", typ)
}

// Close ends the stream.
func (d *profileDecoder) Close() { _ = d.body.Close() }
