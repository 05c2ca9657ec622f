package openapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"connectrpc.com/connect"
)

// maxErrorBody bounds what is held back of an error or delete response.
const maxErrorBody = 1 << 20

// Error is the body of every REST error: the Connect code in snake case,
// the message the RPC error carries, and its details (google.protobuf.Any
// in JSON form; [] when there are none).
type Error struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// Status is the HTTP status of a code on the REST paths: vanguard's table
// (that of google.rpc.Code), except failed_precondition, which is 412
// Precondition Failed rather than 400 so a client can tell "fix the
// request" from "fix the state".
func Status(code connect.Code) int {
	switch code {
	case connect.CodeInvalidArgument, connect.CodeOutOfRange:
		return http.StatusBadRequest
	case connect.CodeFailedPrecondition:
		return http.StatusPreconditionFailed
	case connect.CodeUnauthenticated:
		return http.StatusUnauthorized
	case connect.CodePermissionDenied:
		return http.StatusForbidden
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeAlreadyExists, connect.CodeAborted:
		return http.StatusConflict
	case connect.CodeResourceExhausted:
		return http.StatusTooManyRequests
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeCanceled:
		return 499
	default:
		return http.StatusInternalServerError
	}
}

// WriteError answers err in the REST error shape.
func WriteError(w http.ResponseWriter, err error) {
	var ce *connect.Error
	if !errors.As(err, &ce) {
		ce = connect.NewError(connect.CodeInternal, errors.New("internal error"))
	}
	writeError(w, Error{Code: ce.Code().String(), Message: ce.Message(), Details: []json.RawMessage{}}, Status(ce.Code()))
}

func writeError(w http.ResponseWriter, e Error, status int) {
	body, _ := json.Marshal(e) // strings and raw JSON only
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Del("Content-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// Errors rewrites what a vanguard transcoder (connectrpc.com/vanguard)
// answers on REST paths, on the admin port and on the edge alike: its
// error bodies (google.rpc.Status JSON, {"code": 5, …}) into Error with
// Status's HTTP status, and a successful DELETE's empty message into 204.
func Errors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rw := &errorWriter{ResponseWriter: w, delete: r.Method == http.MethodDelete}
		next.ServeHTTP(rw, r)
		rw.finish()
	})
}

// errorWriter passes a successful response through and holds back an error
// response (or a delete's body) until the handler is done.
type errorWriter struct {
	http.ResponseWriter
	delete  bool
	status  int
	held    bool
	body    []byte
	written bool
}

func (e *errorWriter) WriteHeader(status int) {
	if e.status != 0 {
		return
	}
	e.status = status
	if status >= 400 || (e.delete && status == http.StatusOK) {
		e.held = true
		return
	}
	e.ResponseWriter.WriteHeader(status)
}

func (e *errorWriter) Write(b []byte) (int, error) {
	if e.status == 0 {
		e.WriteHeader(http.StatusOK)
	}
	if e.held {
		if len(e.body)+len(b) <= maxErrorBody {
			e.body = append(e.body, b...)
		}
		return len(b), nil
	}
	return e.ResponseWriter.Write(b)
}

// Flush passes through for responses not held back.
func (e *errorWriter) Flush() {
	if f, ok := e.ResponseWriter.(http.Flusher); ok && !e.held && e.status != 0 {
		f.Flush()
	}
}

func (e *errorWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

func (e *errorWriter) finish() {
	if !e.held {
		return
	}
	if e.status < 400 {
		h := e.ResponseWriter.Header()
		h.Del("Content-Type")
		h.Del("Content-Length")
		h.Del("Content-Encoding")
		e.ResponseWriter.WriteHeader(http.StatusNoContent)
		return
	}
	// google.rpc.Status from vanguard ({"code": 5}), or a Connect error
	// body ({"code": "not_found"}) from middleware that answered itself.
	var st struct {
		Code    json.RawMessage   `json:"code"`
		Message string            `json:"message"`
		Details []json.RawMessage `json:"details"`
	}
	code, ok := connect.Code(0), false
	if err := json.Unmarshal(e.body, &st); err == nil {
		code, ok = parseCode(st.Code)
	}
	if !ok {
		// Not a status body (a plain HTTP error from below): keep the
		// status, say what we know.
		code := codeOfHTTP(e.status)
		writeError(e.ResponseWriter, Error{Code: code.String(), Message: http.StatusText(e.status), Details: []json.RawMessage{}}, e.status)
		return
	}
	if st.Details == nil {
		st.Details = []json.RawMessage{}
	}
	writeError(e.ResponseWriter, Error{Code: code.String(), Message: st.Message, Details: st.Details}, Status(code))
}

// codeOfHTTP names the code of a bare HTTP error status.
func codeOfHTTP(status int) connect.Code {
	switch status {
	case http.StatusBadRequest:
		return connect.CodeInvalidArgument
	case http.StatusUnauthorized:
		return connect.CodeUnauthenticated
	case http.StatusForbidden:
		return connect.CodePermissionDenied
	case http.StatusNotFound, http.StatusMethodNotAllowed:
		return connect.CodeNotFound
	case http.StatusRequestEntityTooLarge, http.StatusTooManyRequests:
		return connect.CodeResourceExhausted
	case http.StatusServiceUnavailable:
		return connect.CodeUnavailable
	case http.StatusUnsupportedMediaType:
		return connect.CodeInvalidArgument
	default:
		return connect.CodeInternal
	}
}

// parseCode reads a code as a number or as its snake-case name.
func parseCode(raw json.RawMessage) (connect.Code, bool) {
	var n int
	if err := json.Unmarshal(raw, &n); err == nil {
		return connect.Code(n), n > 0 && n <= int(connect.CodeUnauthenticated)
	}
	var name string
	if err := json.Unmarshal(raw, &name); err != nil {
		return 0, false
	}
	var c connect.Code
	if err := c.UnmarshalText([]byte(name)); err != nil || c == 0 {
		return 0, false
	}
	return c, true
}
