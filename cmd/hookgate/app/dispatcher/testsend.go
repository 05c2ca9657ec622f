package dispatcher

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/nats-io/nats.go"
)

// maxTestSends bounds the test sends one dispatcher works on at once; more
// wait in the subscription's buffer.
const maxTestSends = 32

// serveTestSends answers the control plane's test-send requests
// (SendTestPing, SendExample) on hookgate.dispatch.test.{tenant} in queue
// group dispatch.TestQueue until ctx ends, then waits for the sends under
// way.
func serveTestSends(ctx context.Context, nc *nats.Conn, eng *dispatch.Engine) error {
	var wg sync.WaitGroup
	slots := make(chan struct{}, maxTestSends)
	sub, err := nc.QueueSubscribe(dispatch.TestSubjectPrefix+"*", dispatch.TestQueue, func(m *nats.Msg) {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			reply := testSend(ctx, eng, m)
			b, _ := json.Marshal(reply)
			_ = m.Respond(b)
		}()
	})
	if err != nil {
		return fmt.Errorf("subscribe %s*: %w", dispatch.TestSubjectPrefix, err)
	}
	<-ctx.Done()
	_ = sub.Unsubscribe()
	wg.Wait()
	return nil
}

// testSend makes the attempt a request asks for.
func testSend(ctx context.Context, eng *dispatch.Engine, m *nats.Msg) dispatch.TestReply {
	var req dispatch.TestRequest
	if err := json.Unmarshal(m.Data, &req); err != nil {
		return dispatch.TestReply{Code: dispatch.TestCodeBadRequest, Error: "request is not JSON"}
	}
	if req.Tenant != strings.TrimPrefix(m.Subject, dispatch.TestSubjectPrefix) || req.EndpointID == "" || req.MessageID == "" ||
		req.EventType == "" || !json.Valid(req.Payload) {
		return dispatch.TestReply{Code: dispatch.TestCodeBadRequest, Error: "tenant, endpointId, messageId, eventType and a JSON payload are required"}
	}
	msg := &dispatch.Message{ID: req.MessageID, EventType: req.EventType, Payload: req.Payload}
	rec, seq, err := eng.SendTest(ctx, req.Tenant, req.EndpointID, msg, dispatch.TestWait)
	switch {
	case errors.Is(err, dispatch.ErrEndpointUnknown):
		return dispatch.TestReply{Code: dispatch.TestCodeEndpointUnknown, Error: err.Error()}
	case errors.Is(err, dispatch.ErrRateLimited):
		return dispatch.TestReply{Code: dispatch.TestCodeRateLimited, Error: err.Error()}
	case err != nil && seq == 0 && rec.MessageID == "":
		return dispatch.TestReply{Code: dispatch.TestCodeInternal, Error: "test send: " + err.Error()}
	}
	// A record that could not be stored is still the answer.
	return dispatch.TestReply{Sequence: seq, Record: &rec}
}
