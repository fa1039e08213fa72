package enricher

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

type failingSource struct{}

func (failingSource) Name() string                            { return "audit-netlink" }
func (failingSource) Open() error                             { return errors.New("bind: operation not permitted") }
func (failingSource) Run(context.Context, func([]byte)) error { return nil }
func (failingSource) Stats() SourceStats                      { return SourceStats{} }

// A source that cannot open (no CAP_AUDIT_READ) is reported, not fatal:
// reading false, and why.
func TestSourceThatCannotOpenIsReported(t *testing.T) {
	e := &Enricher{Source: failingSource{}, Log: logr.Discard()}
	src := &sourceState{name: "audit-netlink"}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.read(ctx, src, func([]byte) {}, func() {}) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := src.records(SourceStats{}, time.Now())
		if r.Message != "" {
			if r.Reading || !strings.Contains(r.Message, "operation not permitted") || r.Source != "audit-netlink" {
				t.Errorf("records %+v", r)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no message")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}
