// Package rest serves the admin API's REST/JSON paths (the google.api.http
// annotations in proto/) by transcoding them with connectrpc.com/vanguard
// into Connect calls of the same handlers gRPC and Connect clients reach, and
// the OpenAPI document of those paths at /openapi.json.
//
// A REST call goes through the admin mux like any other call, so the call
// deadline, authentication (before the body is read) and the authorization
// interceptor run unchanged. This package only reshapes the edges of a REST
// exchange: errors become {"code": "not_found", "message": …, "details": […]}
// with the status of DESIGN.md's table (failed_precondition is 412), a
// delete answers 204, update masks are accepted in snake case, and a PATCH
// without ?update_mask= updates the fields its body names.
package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/gen/openapi"
)

// Prefix starts every REST path; everything else goes straight to the mux.
const Prefix = "/v1/"

// DocumentPath is where the OpenAPI document is served.
const DocumentPath = "/openapi.json"

// maxBody bounds a REST request body, as connect.WithReadMaxBytes bounds
// the admin port's Connect calls.
const maxBody = 4 << 20

// Config says what the REST paths are served for.
type Config struct {
	// Services are the fully-qualified names of the services whose
	// annotated methods get REST paths (hookgate.v1.TenantService, …).
	Services []string
	// MaxBodyBytes bounds a request body; 0 means 4 MiB.
	MaxBodyBytes int
}

// New returns a handler that answers REST paths and /openapi.json and hands
// every other request to next unchanged. auth is the admin port's
// authentication middleware: it runs inside next for every call and, ahead
// of reading the body, for a PATCH whose mask comes from the body.
func New(cfg Config, next http.Handler, auth func(http.Handler) http.Handler) (http.Handler, error) {
	limit := cfg.MaxBodyBytes
	if limit <= 0 {
		limit = maxBody
	}
	if len(cfg.Services) == 0 {
		return nil, errors.New("rest: no services")
	}
	services := make([]*vanguard.Service, 0, len(cfg.Services))
	for _, name := range cfg.Services {
		services = append(services, vanguard.NewService(name, next,
			vanguard.WithMaxMessageBufferBytes(uint32(limit)),
			// The handlers speak all three; Connect is the cheapest to
			// transcode to.
			vanguard.WithTargetProtocols(vanguard.ProtocolConnect)))
	}
	tc, err := vanguard.NewTranscoder(services, vanguard.WithUnknownHandler(http.HandlerFunc(notFound)), vanguard.WithCodec(newRESTCodec))
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	return &handler{next: next, rest: openapi.Errors(tc), auth: auth, limit: int64(limit)}, nil
}

type handler struct {
	next  http.Handler
	rest  http.Handler
	auth  func(http.Handler) http.Handler
	limit int64
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == DocumentPath && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(openapi.JSON())
		return
	case !strings.HasPrefix(r.URL.Path, Prefix):
		h.next.ServeHTTP(w, r)
		return
	}
	if !utf8Params(r.URL) {
		// Parameters become proto strings, which must be UTF-8; vanguard
		// would fail to marshal them and answer 500.
		openapi.WriteError(w, connect.NewError(connect.CodeInvalidArgument, errors.New("path and query parameters must be UTF-8")))
		return
	}
	jsonBody(r)
	switch {
	case r.Method == http.MethodPatch:
		if err := normalizeMask(r); err != nil {
			openapi.WriteError(w, connect.NewError(connect.CodeInvalidArgument, err))
			return
		}
		if maskGiven(r.URL.Query()) {
			h.rest.ServeHTTP(w, r)
			return
		}
		// The mask comes from the body: authenticate before reading it.
		openapi.Errors(h.auth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if err := maskFromBody(r, h.limit); err != nil {
				openapi.WriteError(w, err)
				return
			}
			h.rest.ServeHTTP(w, r)
		}))).ServeHTTP(w, r)
	default:
		h.rest.ServeHTTP(w, r)
	}
}

// utf8Params reports whether u's path and query parameters, unescaped,
// are UTF-8.
func utf8Params(u *url.URL) bool {
	if !utf8.ValidString(u.Path) {
		return false
	}
	for k, vs := range u.Query() {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}

// jsonBody reads a body sent without a media type, or as a form (curl -d),
// as JSON: it is the only kind the REST paths take.
func jsonBody(r *http.Request) {
	ct := r.Header.Get("Content-Type")
	if ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		r.Header.Set("Content-Type", "application/json")
	}
}

func notFound(w http.ResponseWriter, r *http.Request) {
	openapi.WriteError(w, connect.NewError(connect.CodeNotFound,
		fmt.Errorf("no REST path %s %s (see %s)", r.Method, r.URL.Path, DocumentPath)))
}

func maskGiven(q url.Values) bool {
	return q.Get("update_mask") != "" || q.Get("updateMask") != ""
}

// normalizeMask rewrites ?update_mask=display_name,rate_limit.burst into the
// lowerCamelCase paths the JSON form of FieldMask takes, so either spelling
// works.
func normalizeMask(r *http.Request) error {
	q := r.URL.Query()
	for _, key := range []string{"update_mask", "updateMask"} {
		vals, ok := q[key]
		if !ok {
			continue
		}
		var paths []string
		for _, v := range vals {
			for p := range strings.SplitSeq(v, ",") {
				if p = strings.TrimSpace(p); p != "" {
					paths = append(paths, camelPath(p))
				}
			}
		}
		q.Del(key)
		if len(paths) > 0 {
			q.Set("update_mask", strings.Join(paths, ","))
		}
	}
	r.URL.RawQuery = q.Encode()
	return nil
}

// maskFromBody reads the body (bounded) and sets update_mask to the fields
// it names at the top level, leaving the body for the transcoder.
func maskFromBody(r *http.Request, limit int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > limit {
		return connect.NewError(connect.CodeResourceExhausted, fmt.Errorf("body larger than %d bytes", limit))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return connect.NewError(connect.CodeInvalidArgument, fmt.Errorf("body: a JSON object is required: %w", err))
	}
	paths := make([]string, 0, len(fields))
	for k := range fields {
		paths = append(paths, camelPath(k))
	}
	if len(paths) == 0 {
		return connect.NewError(connect.CodeInvalidArgument, errors.New("update_mask: the body names no field and no ?update_mask= is given"))
	}
	slices.Sort(paths)
	q := r.URL.Query()
	q.Set("update_mask", strings.Join(paths, ","))
	r.URL.RawQuery = q.Encode()
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.ContentLength = int64(len(body))
	return nil
}

// camelPath turns each dot-separated part of a field path to lowerCamelCase.
func camelPath(p string) string {
	parts := strings.Split(p, ".")
	for i, part := range parts {
		var b strings.Builder
		up := false
		for _, c := range part {
			switch {
			case c == '_':
				up = true
			case up && c >= 'a' && c <= 'z':
				b.WriteRune(c - 'a' + 'A')
				up = false
			default:
				b.WriteRune(c)
				up = false
			}
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, ".")
}

// AdminServices are the services of the admin port that have REST paths:
// all but the config stream, which only nodes call.
func AdminServices() []string {
	return []string{
		hookgatev1connect.TenantServiceName,
		hookgatev1connect.InboundWebhookServiceName,
		hookgatev1connect.ApplicationServiceName,
		hookgatev1connect.EventTypeServiceName,
		hookgatev1connect.EndpointServiceName,
		hookgatev1connect.MessageServiceName,
		hookgatev1connect.AttemptServiceName,
		hookgatev1connect.EdgeServiceName,
		hookgatev1connect.ConfigParamServiceName,
	}
}
