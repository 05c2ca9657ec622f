package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// invalid reports bad input in one field, naming it as the API spells it.
func invalid(field, format string, args ...any) error {
	return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
}

// toConnect is the one table from domain errors to status codes. Messages of
// known conditions are safe to show (they name ids, never secrets); anything
// else is logged with a request id and answered with a generic message.
func toConnect(ctx context.Context, log *slog.Logger, err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, store.ErrNotFound):
		return connect.NewError(connect.CodeNotFound, err)
	case errors.Is(err, store.ErrAlreadyExists):
		return connect.NewError(connect.CodeAlreadyExists, err)
	case errors.Is(err, store.ErrMissingParam):
		// Names the secret and the parameter, never a value.
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("webhook.provider_secrets: %w", err))
	case errors.Is(err, store.ErrEventTypeRef):
		// Names the event type only.
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("endpoint.event_types: %w", err))
	case errors.Is(err, store.ErrInUse):
		return connect.NewError(connect.CodeFailedPrecondition, err)
	case errors.Is(err, store.ErrConflict):
		return connect.NewError(connect.CodeAborted, err)
	case errors.Is(err, store.ErrBadPageToken):
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("page_token: %w", err))
	case errors.Is(err, context.Canceled):
		return connect.NewError(connect.CodeCanceled, errors.New("request canceled"))
	case unavailable(err):
		// Retryable: another try, or another replica, may find a quorum.
		return connect.NewError(connect.CodeUnavailable, errors.New("the configuration store did not answer in time; retry"))
	}
	id := secrets.NewID("req_")
	log.ErrorContext(ctx, "admin request failed", "request_id", id, "err", err)
	return connect.NewError(connect.CodeInternal, fmt.Errorf("internal error (request id %s)", id))
}

// unavailable reports an etcd that did not answer: the call's deadline
// passed, or the client gave up on the cluster (no leader, no endpoint).
func unavailable(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	code := status.Code(err)
	var coded interface{ Code() codes.Code } // etcd's rpctypes.EtcdError
	if errors.As(err, &coded) {
		code = coded.Code()
	}
	return code == codes.Unavailable || code == codes.DeadlineExceeded
}

func strconvRev(rev int64) string { return strconv.FormatInt(rev, 10) }

// etagOf parses an etag given for field (empty means none): an etag is a
// record's mod revision, and anything else is the caller's mistake.
func etagOf(field, etag string) (int64, error) {
	rev, err := store.ParseEtag(etag)
	if err != nil {
		return 0, invalid(field, "%q is not an etag", etag)
	}
	return rev, nil
}
