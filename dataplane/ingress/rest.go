package ingress

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"connectrpc.com/connect"
	"connectrpc.com/vanguard"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/hookgate/hookgate/gen/openapi"
)

// RESTPrefix starts the REST paths of the edge port.
const RESTPrefix = "/v1/"

// WithREST returns public with SendMessage's REST path in front of it:
// POST /v1/tenants/{tenant}/apps/{application_id}/messages with the message
// as the JSON body (the google.api.http annotation in message.proto),
// transcoded by connectrpc.com/vanguard into a Connect call of m, so the
// producer token is checked before the body is read and every rule of
// SendMessage applies. Errors are the REST shape of gen/openapi
// ({"code": "not_found", "message": …, "details": []}). Every other path
// goes to public unchanged; another REST path is a JSON 404.
func WithREST(public http.Handler, m *Messages) (http.Handler, error) {
	if m == nil {
		return nil, errors.New("rest: no SendMessage handler")
	}
	svc := vanguard.NewService(hookgatev1connect.MessageServiceName, sendOnly{m: m},
		vanguard.WithMaxMessageBufferBytes(uint32(m.cfg.MaxRequestBytes)),
		vanguard.WithTargetProtocols(vanguard.ProtocolConnect))
	tc, err := vanguard.NewTranscoder([]*vanguard.Service{svc},
		vanguard.WithUnknownHandler(http.HandlerFunc(restNotFound)), vanguard.WithCodec(newRESTCodec))
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	rest := openapi.Errors(tc)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.EscapedPath(), RESTPrefix) {
			public.ServeHTTP(w, r)
			return
		}
		if refuseNonUTF8Params(w, r) {
			return
		}
		// The tenant is in the path: a call outside the shard is refused
		// before the transcoder reads the body.
		if t, ok := restTenant(r.URL.EscapedPath()); ok && !m.cfg.Shard.Serves(t) {
			m.misdirected.Inc()
			openapi.WriteError(&misdirect{ResponseWriter: w, set: true}, errMisdirected)
			return
		}
		// curl -d sends a form media type; the REST path takes JSON only.
		if ct := r.Header.Get("Content-Type"); ct == "" || strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
			r.Header.Set("Content-Type", "application/json")
		}
		rest.ServeHTTP(w, r)
	}), nil
}

// sendOnly passes SendMessage to the handler and refuses the other
// MessageService methods, which the control plane serves.
type sendOnly struct{ m *Messages }

var errAdminPort = connect.NewError(connect.CodeNotFound,
	errors.New("only SendMessage is served on the edge port; read messages on the control plane's admin port"))

func (s sendOnly) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != MessagesPath {
		_ = connect.NewErrorWriter().Write(w, r, errAdminPort)
		return
	}
	s.m.ServeHTTP(w, r)
}

func restNotFound(w http.ResponseWriter, r *http.Request) {
	openapi.WriteError(w, connect.NewError(connect.CodeNotFound,
		fmt.Errorf("no REST path %s %s on the edge port", r.Method, r.URL.Path)))
}
