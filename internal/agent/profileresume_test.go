package agent

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/seccomp-operator/seccomp-operator/api/v1alpha1"
	"github.com/seccomp-operator/seccomp-operator/internal/nodekube"
)

// TestProfileWatchResumesWithoutRelisting runs the profile informer, with
// client-go's reflector, against a server that closes the watch the way a
// CPU-starved apiserver does: twice at once, before any event. Without
// resumingWatch the reflector counts a very short watch, backs off and
// lists every profile again; with it, the next event arrives on the same
// watch and nothing is listed twice.
func TestProfileWatchResumesWithoutRelisting(t *testing.T) {
	const path = "/apis/seccomp-operator.dev/v1alpha1/seccompprofiles"
	var mu sync.Mutex
	var lists, resumed int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != path {
			http.NotFound(w, r)
			return
		}
		q := r.URL.Query()
		w.Header().Set("Content-Type", "application/json")
		write := func(s string) {
			_, _ = io.WriteString(w, s+"\n")
			w.(http.Flusher).Flush()
		}
		mu.Lock()
		switch {
		case q.Get("watch") != "true" || q.Get("sendInitialEvents") == "true":
			lists++ // a list, or a watch-list's initial events
		case q.Get("resourceVersion") == "10":
			resumed++
		default:
			t.Errorf("unexpected request %s", r.URL)
		}
		n := resumed
		mu.Unlock()
		switch {
		case q.Get("watch") != "true":
			write(`{"apiVersion":"seccomp-operator.dev/v1alpha1","kind":"SeccompProfileList","metadata":{"resourceVersion":"10"},"items":[]}`)
		case q.Get("sendInitialEvents") == "true":
			// No profiles yet: the end of the initial events; a while
			// later the stream closes, and the reflector watches again
			// from 10.
			write(`{"type":"BOOKMARK","object":{"apiVersion":"seccomp-operator.dev/v1alpha1","kind":"SeccompProfile","metadata":{"resourceVersion":"10","annotations":{"k8s.io/initial-events-end":"true"}}}}`)
			time.Sleep(1100 * time.Millisecond)
		case n <= 2:
			// Closed before any event.
		default:
			write(`{"type":"ADDED","object":{"apiVersion":"seccomp-operator.dev/v1alpha1","kind":"SeccompProfile","metadata":{"name":"late","uid":"u1","resourceVersion":"11","generation":1},"spec":{"defaultAction":"SCMP_ACT_ERRNO"}}}`)
			<-r.Context().Done()
		}
	}))
	defer srv.Close()

	c, err := nodekube.RESTClient(&rest.Config{Host: srv.URL}, v1alpha1.GroupVersion, "/apis", "")
	if err != nil {
		t.Fatal(err)
	}
	inf := nodekube.Informer(profileListWatch(c, nil), &v1alpha1.SeccompProfile{}, trimProfile)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go inf.Run(ctx.Done())
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := inf.GetStore().GetByKey("late"); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the profile created after the closed streams never arrived")
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if lists != 1 || resumed != 3 {
		t.Errorf("%d lists and %d watches from version 10, want 1 list and 3 watches (two closed empty, resumed at once)", lists, resumed)
	}
}
