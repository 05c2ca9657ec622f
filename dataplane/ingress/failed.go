package ingress

import (
	"io"
	"net/http"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// failureBody reads the first FailureBodyBytes of a body the edge did not
// read, and the body's size as far as it is known.
func (e *Edge) failureBody(r *http.Request) ([]byte, int64) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, int64(e.cfg.FailureBodyBytes)))
	return body, max(int64(len(body)), r.ContentLength)
}

// recordFailure stores a failed trigger: reason, time, remote address,
// redacted headers and the first bytes of the body. It is published without
// waiting for an acknowledgement, so a slow store cannot hold up the edge.
func (e *Edge) recordFailure(r *http.Request, at time.Time, out outcome) {
	body := out.body
	if len(body) > e.cfg.FailureBodyBytes {
		body = body[:e.cfg.FailureBodyBytes]
	}
	info := reasons[out.reason]
	ft := &hookgatev1.FailedTrigger{
		Id:            "ftr_" + randomID(),
		Tenant:        out.tenant,
		WebhookId:     out.id,
		Reason:        failureReason(out),
		StatusCode:    int32(info.status),
		Time:          timestamppb.New(at),
		RemoteAddress: r.RemoteAddr,
		Headers:       make(map[string]*structpb.ListValue, len(r.Header)),
		Body:          body,
		BodySize:      out.size,
		Detail:        out.detail,
	}
	for name, values := range r.Header {
		lv := &structpb.ListValue{Values: make([]*structpb.Value, len(values))}
		for i, v := range values {
			if out.hook.redacted(name) {
				v = "REDACTED"
			}
			lv.Values[i] = structpb.NewStringValue(v)
		}
		ft.Headers[name] = lv
	}
	data, err := proto.Marshal(ft)
	if err != nil {
		e.log.Warn("encode failed trigger", "tenant", out.tenant, "webhook_id", out.id, "err", err)
		return
	}
	// A core publish is stored by the stream without an acknowledgement.
	if err := e.nc.Publish(streams.FailedSubject(out.tenant, out.id), data); err != nil {
		e.metrics.failures.WithLabelValues("error").Inc()
		return
	}
	e.metrics.failures.WithLabelValues("recorded").Inc()
}
