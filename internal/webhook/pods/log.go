package pods

import (
	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"
)

// requestLog is the webhooks' LogConstructor: the request's fields
// (controller-runtime's DefaultLogConstructor's) are attached only when
// something is logged. The default attaches them to every request up
// front, twice, and a logr sink encodes them right away; almost no
// request logs anything.
func requestLog(base logr.Logger, req *admission.Request) logr.Logger {
	if req == nil || base.GetSink() == nil {
		return base
	}
	r, sink := req, base.GetSink()
	if s, ok := sink.(logr.CallDepthLogSink); ok {
		sink = s.WithCallDepth(1) // the caller is who logged, not lazySink
	}
	return base.WithSink(&lazySink{sink: sink, values: func() []any {
		return []any{"object", klog.KRef(r.Namespace, r.Name), "namespace", r.Namespace, "name", r.Name,
			"resource", r.Resource, "user", r.UserInfo.Username, "requestID", r.UID}
	}})
}

// lazySink adds values to sink when a message is logged.
type lazySink struct {
	sink   logr.LogSink
	values func() []any
}

var _ logr.CallDepthLogSink = (*lazySink)(nil)

func (l *lazySink) Init(info logr.RuntimeInfo) { l.sink.Init(info) }

func (l *lazySink) Enabled(level int) bool { return l.sink.Enabled(level) }

func (l *lazySink) Info(level int, msg string, kv ...any) {
	l.sink.WithValues(l.values()...).Info(level, msg, kv...)
}

func (l *lazySink) Error(err error, msg string, kv ...any) {
	l.sink.WithValues(l.values()...).Error(err, msg, kv...)
}

func (l *lazySink) WithValues(kv ...any) logr.LogSink {
	return &lazySink{sink: l.sink.WithValues(kv...), values: l.values}
}

func (l *lazySink) WithName(name string) logr.LogSink {
	return &lazySink{sink: l.sink.WithName(name), values: l.values}
}

func (l *lazySink) WithCallDepth(depth int) logr.LogSink {
	if s, ok := l.sink.(logr.CallDepthLogSink); ok {
		return &lazySink{sink: s.WithCallDepth(depth), values: l.values}
	}
	return l
}
