package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/runtime/serializer/streaming"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	restclientwatch "k8s.io/client-go/rest/watch"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// fullProfile is a profile as the apiserver sends it: status, managed
// fields and annotations included.
func fullProfile() *v1alpha1.SeccompProfile {
	sp := &v1alpha1.SeccompProfile{}
	sp.APIVersion, sp.Kind = v1alpha1.GroupVersion.String(), "SeccompProfile"
	sp.Name, sp.UID, sp.ResourceVersion, sp.Generation = "web", "u-1", "42", 3
	sp.Labels = map[string]string{"team": "web"}
	sp.Annotations = map[string]string{"kubectl.kubernetes.io/last-applied-configuration": strings.Repeat("x", 100)}
	sp.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationApply,
		FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{}}`)}}}
	sp.Spec.DefaultAction = "SCMP_ACT_ERRNO"
	sp.Spec.Architectures = v1alpha1.DefaultArchitectures()
	sp.Spec.BaseProfileName = "base"
	errno := uint(1)
	sp.Spec.Syscalls = []v1alpha1.SyscallRule{
		{Names: []string{"read", "write"}, Action: "SCMP_ACT_ALLOW"},
		{Names: []string{"personality"}, Action: "SCMP_ACT_ERRNO", ErrnoRet: &errno,
			Args: []v1alpha1.Arg{{Index: 0, Value: 0xffffffffffffffff, ValueTwo: 1 << 63, Op: "SCMP_CMP_MASKED_EQ"}}},
	}
	sp.Status.NodesInstalled, sp.Status.NodesTotal = 2, 3
	sp.Status.Conditions = []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Compiled", Message: "ok"}}
	return sp
}

func eventJSON(t *testing.T, typ watch.EventType, obj runtime.Object) []byte {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := json.Marshal(metav1.WatchEvent{Type: string(typ), Object: runtime.RawExtension{Raw: b}})
	if err != nil {
		t.Fatal(err)
	}
	return append(ev, '\n')
}

// clientGoDecoder returns a function that decodes a stream as client-go's
// REST client does.
func clientGoDecoder(tb testing.TB) func(stream []byte) watch.Decoder {
	tb.Helper()
	codecs := serializer.NewCodecFactory(nodekube.Scheme)
	info, ok := runtime.SerializerInfoForMediaType(codecs.WithoutConversion().SupportedMediaTypes(), runtime.ContentTypeJSON)
	if !ok {
		tb.Fatal("no JSON serializer")
	}
	return func(stream []byte) watch.Decoder {
		fr := info.StreamSerializer.Framer.NewFrameReader(io.NopCloser(bytes.NewReader(stream)))
		return restclientwatch.NewDecoder(streaming.NewDecoder(fr, info.StreamSerializer.Serializer), codecs.UniversalDeserializer())
	}
}

// clientGoDecode decodes the first event of a stream as client-go does.
func clientGoDecode(t *testing.T, stream []byte) (watch.EventType, runtime.Object) {
	t.Helper()
	typ, obj, err := clientGoDecoder(t)(stream).Decode()
	if err != nil {
		t.Fatal(err)
	}
	return typ, obj
}

// Each kind of event decodes to what client-go's decoding followed by the
// node's trim gives: the same metadata a node keeps and the same spec.
func TestProfileDecoderMatchesClientGo(t *testing.T) {
	sp := fullProfile()
	for _, typ := range []watch.EventType{watch.Added, watch.Modified, watch.Deleted} {
		stream := eventJSON(t, typ, sp)
		wantType, wantObj := clientGoDecode(t, stream)
		want, err := trimProfile(wantObj)
		if err != nil {
			t.Fatal(err)
		}
		gotType, gotObj, err := newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), nil).Decode()
		if err != nil {
			t.Fatal(err)
		}
		got, err := trimProfile(gotObj)
		if err != nil {
			t.Fatal(err)
		}
		if gotType != wantType || !equality.Semantic.DeepEqual(got, want) {
			t.Errorf("%s: got %s %+v\nwant %s %+v", typ, gotType, got, wantType, want)
		}
		if p := gotObj.(*v1alpha1.SeccompProfile); p.ManagedFields != nil || p.Annotations != nil || p.Status.NodesTotal != 0 {
			t.Errorf("%s: status, annotations or managed fields decoded: %+v", typ, p)
		}
	}
}

// A stream of several events, a bookmark carrying the end of the initial
// events, an error, an object before its type, then the end of the stream.
func TestProfileDecoderStream(t *testing.T) {
	sp := fullProfile()
	bm := &v1alpha1.SeccompProfile{}
	bm.APIVersion, bm.Kind = v1alpha1.GroupVersion.String(), "SeccompProfile"
	bm.ResourceVersion = "50"
	bm.Annotations = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	gone := apierrors.NewResourceExpired("too old resource version: 1 (42)").Status()
	objFirst := []byte(`{"object":{"metadata":{"name":"late","resourceVersion":"51","generation":1},"spec":{"defaultAction":"SCMP_ACT_LOG"}},"type":"MODIFIED"}` + "\n")

	var stream []byte
	stream = append(stream, eventJSON(t, watch.Added, sp)...)
	stream = append(stream, eventJSON(t, watch.Bookmark, bm)...)
	stream = append(stream, eventJSON(t, watch.Error, &gone)...)
	stream = append(stream, objFirst...)
	d := newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), nil)

	typ, obj, err := d.Decode()
	if err != nil || typ != watch.Added || obj.(*v1alpha1.SeccompProfile).Name != "web" {
		t.Fatalf("first event: %s %v %v", typ, obj, err)
	}
	typ, obj, err = d.Decode()
	if err != nil || typ != watch.Bookmark {
		t.Fatalf("bookmark: %s %v %v", typ, obj, err)
	}
	if m, _ := obj.(*v1alpha1.SeccompProfile); m.ResourceVersion != "50" || m.Annotations[metav1.InitialEventsAnnotationKey] != "true" {
		t.Fatalf("bookmark lost its version or annotation: %+v", m.ObjectMeta)
	}
	typ, obj, err = d.Decode()
	if err != nil || typ != watch.Error {
		t.Fatalf("error event: %s %v %v", typ, obj, err)
	}
	if st, ok := obj.(*metav1.Status); !ok || !apierrors.IsResourceExpired(apierrors.FromObject(st)) {
		t.Fatalf("error event object %T %+v is not the expired status", obj, obj)
	}
	typ, obj, err = d.Decode()
	if err != nil || typ != watch.Modified {
		t.Fatalf("object before type: %s %v %v", typ, obj, err)
	}
	if p := obj.(*v1alpha1.SeccompProfile); p.Name != "late" || p.ResourceVersion != "51" || p.Spec.DefaultAction != "SCMP_ACT_LOG" {
		t.Fatalf("object before type decoded as %+v", p)
	}
	if _, _, err := d.Decode(); !errors.Is(err, io.EOF) {
		t.Fatalf("end of stream: %v, want io.EOF", err)
	}
}

// A spec version the node holds (a status write) is not built again: the
// held spec is shared. Another version, or a spec that comes before the
// metadata, is decoded.
func TestProfileDecoderSharesKnownSpec(t *testing.T) {
	sp := fullProfile()
	held := v1alpha1.SeccompProfileSpec{DefaultAction: "SCMP_ACT_KILL_PROCESS"}
	var asked []string
	known := func(name string, uid types.UID, gen int64) (v1alpha1.SeccompProfileSpec, bool) {
		asked = append(asked, fmt.Sprintf("%s/%s/%d", name, uid, gen))
		return held, name == "web" && uid == "u-1" && gen == 3
	}
	newer := fullProfile()
	newer.Generation = 4
	specFirst := []byte(`{"type":"MODIFIED","object":{"spec":{"defaultAction":"SCMP_ACT_LOG"},"metadata":{"name":"web","uid":"u-1","generation":3}}}` + "\n")
	stream := append(eventJSON(t, watch.Modified, sp), eventJSON(t, watch.Modified, newer)...)
	stream = append(stream, specFirst...)
	d := newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), known)

	for i, want := range []v1alpha1.Action{held.DefaultAction, sp.Spec.DefaultAction, "SCMP_ACT_LOG"} {
		_, obj, err := d.Decode()
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		p := obj.(*v1alpha1.SeccompProfile)
		if p.Spec.DefaultAction != want {
			t.Errorf("event %d: spec %+v, want default action %s", i, p.Spec, want)
		}
		if p.Name != "web" || p.UID != "u-1" || (i < 2 && p.Labels["team"] != "web") {
			t.Errorf("event %d: metadata %+v", i, p.ObjectMeta)
		}
	}
	if want := []string{"web/u-1/3", "web/u-1/4"}; !slices.Equal(asked, want) {
		t.Errorf("asked about %v, want %v", asked, want)
	}
}

// Broken input is an error, never a zero event passed on as a profile.
func TestProfileDecoderRejectsBrokenEvents(t *testing.T) {
	for name, in := range map[string]string{
		"unknown type":   `{"type":"RENAMED","object":{}}`,
		"no object":      `{"type":"ADDED"}`,
		"not an object":  `["ADDED"]`,
		"truncated":      `{"type":"ADDED","object":{"metadata":{"name":"x"`,
		"bad spec field": `{"type":"ADDED","object":{"spec":{"syscalls":"read"}}}`,
	} {
		if typ, obj, err := newProfileDecoder(io.NopCloser(strings.NewReader(in)), nil).Decode(); err == nil {
			t.Errorf("%s: decoded as %s %+v, want an error", name, typ, obj)
		}
	}
}

func FuzzProfileDecoder(f *testing.F) {
	f.Add([]byte(`{"type":"ADDED","object":{"metadata":{"name":"a","generation":1},"spec":{"defaultAction":"SCMP_ACT_ERRNO","syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}}}`))
	f.Add([]byte(`{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7","annotations":{"k8s.io/initial-events-end":"true"}}}}`))
	f.Add([]byte(`{"type":"ERROR","object":{"kind":"Status","status":"Failure","code":410}}`))
	f.Add([]byte(`{"object":{},"type":"DELETED"}{"type":"ADDED","object":{}}`))
	// Odd generations are held: both ways of reading a spec are fuzzed.
	known := func(_ string, _ types.UID, gen int64) (v1alpha1.SeccompProfileSpec, bool) {
		return v1alpha1.SeccompProfileSpec{}, gen%2 == 1
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d := newProfileDecoder(io.NopCloser(bytes.NewReader(in)), known)
		for range 4 {
			typ, obj, err := d.Decode()
			if err != nil {
				return
			}
			if obj == nil || typ == "" {
				t.Fatalf("no error, but event %q object %v", typ, obj)
			}
		}
	})
}

// BenchmarkWatchDecode compares client-go's decoding of a profile's watch
// event (then the node's trim) with profileDecoder's, on a profile of 100
// syscalls with the status and managed fields the apiserver sends, 64
// events per stream.
func BenchmarkWatchDecode(b *testing.B) {
	sp := fullProfile()
	var names []string
	for i := range 100 {
		names = append(names, "syscall_name_"+strings.Repeat("x", i%8))
	}
	sp.Spec.Syscalls[0].Names = names
	t := &testing.T{}
	event := eventJSON(t, watch.Modified, sp)
	const n = 64
	stream := bytes.Repeat(event, n)
	for _, c := range []struct {
		name string
		open func([]byte) watch.Decoder
	}{
		{"client-go", clientGoDecoder(b)},
		{"profileDecoder", func(stream []byte) watch.Decoder {
			return newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), nil)
		}},
		// A status write: the node holds the spec version.
		{"profileDecoder-spec-held", func(stream []byte) watch.Decoder {
			held := func(string, types.UID, int64) (v1alpha1.SeccompProfileSpec, bool) { return sp.Spec, true }
			return newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), held)
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(stream)))
			for b.Loop() {
				d := c.open(stream)
				for range n {
					_, obj, err := d.Decode()
					if err != nil {
						b.Fatal(err)
					}
					if _, err := trimProfile(obj); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}

// Two profiles naming the same syscall hold one copy of its name (the
// syscall tables'), not one each.
func TestProfileDecoderInternsSyscallNames(t *testing.T) {
	a, b := fullProfile(), fullProfile()
	b.Name, b.UID = "other", "u-2"
	stream := append(eventJSON(t, watch.Added, a), eventJSON(t, watch.Added, b)...)
	d := newProfileDecoder(io.NopCloser(bytes.NewReader(stream)), nil)
	var names []string
	for range 2 {
		_, obj, err := d.Decode()
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, obj.(*v1alpha1.SeccompProfile).Spec.Syscalls[0].Names[0])
	}
	if names[0] != "read" || names[1] != "read" || unsafe.StringData(names[0]) != unsafe.StringData(names[1]) {
		t.Errorf("names %q decoded into separate copies", names)
	}
}
