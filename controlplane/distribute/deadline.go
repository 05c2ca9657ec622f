package distribute

import (
	"context"
	"errors"
	"net/http"
	"time"

	"connectrpc.com/connect"
)

type responseControllerKey struct{}

// WithSendDeadlines lets StreamConfig bound each update it sends by
// Config.SendTimeout: it hands the handler the request's
// http.ResponseController, which connect-go does not expose. Without it, a
// node that stops reading (its receive window full) holds its stream, and
// the update in it, until the connection dies: the node's HTTP/2 stack still
// answers pings. Wrap the server's handler with it, outside any wrapper
// that does not implement Unwrap.
func WithSendDeadlines(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := context.WithValue(r.Context(), responseControllerKey{}, http.NewResponseController(w))
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// write sends one update within SendTimeout. When the node has not taken it
// by then, net/http resets the HTTP/2 stream, which unblocks Send; the
// stream ends and the node, reconnecting, resumes from the revision it
// holds.
func (s *nodeStream) write(u update) error {
	if s.rc == nil {
		return s.stream.Send(u.msg)
	}
	// net/http enforces the deadline with its own timers, on the wall
	// clock, so it is set from the wall clock rather than d.clock.
	timeout := s.d.cfg.SendTimeout
	deadline := time.Now().Add(timeout)
	if err := s.rc.SetWriteDeadline(deadline); err != nil {
		// http.ErrNotSupported: a connection that cannot bound writes.
		s.log.Debug("send deadline not supported; sending without one", "err", err)
		s.rc = nil
		return s.stream.Send(u.msg)
	}
	if err := s.stream.Send(u.msg); err != nil {
		if !time.Now().Before(deadline) {
			s.d.metrics.sendTimeouts.WithLabelValues(roleLabels[s.role]).Inc()
			s.log.Warn("node did not take an update in time; ending its stream",
				"revision", u.rev, "kind", u.kind, "send_timeout", timeout)
			return connect.NewError(connect.CodeDeadlineExceeded, errors.New("node did not read its config update within the send timeout"))
		}
		return err
	}
	// The stream may now wait for changes for hours: no deadline until the
	// next update.
	if err := s.rc.SetWriteDeadline(time.Time{}); err != nil {
		return err
	}
	return nil
}
