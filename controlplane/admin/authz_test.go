package admin_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// sweepIDs are the acme resources the sweep aims at.
type sweepIDs struct {
	webhookID, tokenID string
}

// fill points a request at tenant acme: every tenant field (top level or in
// the resource it carries), the webhook id and the token id.
func fill(m protoreflect.Message, ids sweepIDs, depth int) {
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		if fd.IsList() || fd.IsMap() {
			continue
		}
		switch {
		case fd.Kind() == protoreflect.StringKind && fd.Name() == "tenant":
			m.Set(fd, protoreflect.ValueOfString("acme"))
		case fd.Kind() == protoreflect.StringKind && fd.Name() == "webhook_id":
			m.Set(fd, protoreflect.ValueOfString(ids.webhookID))
		case fd.Kind() == protoreflect.StringKind && fd.Name() == "id" && depth == 0:
			m.Set(fd, protoreflect.ValueOfString(ids.tokenID))
		case fd.Kind() == protoreflect.StringKind && fd.Name() == "id" && m.Descriptor().Name() == "Tenant":
			m.Set(fd, protoreflect.ValueOfString("acme"))
		case fd.Kind() == protoreflect.StringKind && strings.HasSuffix(string(fd.Name()), "_id"):
			m.Set(fd, protoreflect.ValueOfString("x_acme"))
		case fd.Kind() == protoreflect.MessageKind && depth == 0 && fd.Message().FullName().Parent() == "hookgate.v1":
			fill(m.Mutable(fd).Message(), ids, depth+1)
		}
	}
}

// call sends one Connect JSON request (a single message for a stream) and
// returns the answer's code, "ok" on success, and the response body.
func call(t *testing.T, client *http.Client, base, procedure string, streaming bool, msg []byte, token string) (string, []byte) {
	t.Helper()
	body, ctype := msg, "application/json"
	if streaming {
		frame := make([]byte, 5, 5+len(msg))
		binary.BigEndian.PutUint32(frame[1:], uint32(len(msg)))
		body, ctype = append(frame, msg...), "application/connect+json"
	}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, base+procedure, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", procedure, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s: read: %v", procedure, err)
	}
	var answer struct {
		Code  string `json:"code"`
		Error *struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	switch {
	case resp.StatusCode != http.StatusOK:
		if err := json.Unmarshal(out, &answer); err != nil {
			t.Fatalf("%s: HTTP %d, body %q", procedure, resp.StatusCode, out)
		}
		return answer.Code, out
	case !streaming:
		return "ok", out
	}
	// A stream's outcome is its end-of-stream frame (flag 0x02).
	for rest := out; len(rest) >= 5; {
		n := binary.BigEndian.Uint32(rest[1:5])
		if int(n) > len(rest)-5 {
			break
		}
		if rest[0]&0x02 != 0 {
			if err := json.Unmarshal(rest[5:5+n], &answer); err != nil {
				t.Fatalf("%s: end of stream %q: %v", procedure, rest[5:5+n], err)
			}
			if answer.Error == nil {
				return "ok", out
			}
			return answer.Error.Code, out
		}
		rest = rest[5+n:]
	}
	t.Fatalf("%s: stream without an end: %q", procedure, out)
	return "", nil
}

// TestEveryMethodRefusesAnotherTenant sweeps every method of every service
// in proto/hookgate/v1, enumerated from the generated descriptors so a new
// method is covered without editing this test. A token of tenant "other"
// aimed at tenant acme's resources must get PermissionDenied or NotFound:
// never an answer, and never Unimplemented (which would mean the call got
// past authorization), for methods not built yet too. A method that
// declares no scope gets Internal from the interceptor and fails here.
func TestEveryMethodRefusesAnotherTenant(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	createTenant(t, e, "acme")
	createTenant(t, e, "other")
	wh, err := e.webhooks(e.platform).CreateWebhook(ctx, connect.NewRequest(&hookgatev1.CreateWebhookRequest{Webhook: slackWebhook("acme", "Slack events")}))
	if err != nil {
		t.Fatal(err)
	}
	acmeTok, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "acme"}))
	if err != nil {
		t.Fatal(err)
	}
	otherTok, err := e.tenants(e.platform).CreateAdminToken(ctx, connect.NewRequest(&hookgatev1.CreateAdminTokenRequest{Tenant: "other"}))
	if err != nil {
		t.Fatal(err)
	}
	ids := sweepIDs{webhookID: wh.Msg.Webhook.Id, tokenID: acmeTok.Msg.AdminToken.Id}

	// HTTP/2 over TLS, so bidirectional streams work too.
	srv := httptest.NewUnstartedServer(e.mux)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	// Methods whose scope is the caller itself answer, but only with the
	// caller's own data.
	callerScoped := map[string]bool{hookgatev1connect.TenantServiceListTenantsProcedure: true}

	methods := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("hookgate.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				md := sd.Methods().Get(j)
				methods++
				procedure := "/" + string(sd.FullName()) + "/" + string(md.Name())
				t.Run(procedure, func(t *testing.T) {
					mt, err := protoregistry.GlobalTypes.FindMessageByName(md.Input().FullName())
					if err != nil {
						t.Fatal(err)
					}
					req := mt.New()
					fill(req, ids, 0)
					msg, err := protojson.Marshal(req.Interface())
					if err != nil {
						t.Fatal(err)
					}
					streaming := md.IsStreamingClient() || md.IsStreamingServer()
					code, body := call(t, srv.Client(), srv.URL, procedure, streaming, msg, otherTok.Msg.Token)
					if callerScoped[procedure] {
						if code != "ok" || bytes.Contains(body, []byte("acme")) {
							t.Fatalf("code %s, body %s: want only the caller's own data", code, body)
						}
						return
					}
					if code != "permission_denied" && code != "not_found" {
						t.Fatalf("request %s: code %s (%s), want permission_denied or not_found", msg, code, body)
					}
				})
			}
		}
		return true
	})
	if methods < 40 {
		t.Fatalf("swept %d methods; the descriptors of hookgate.v1 were not all found", methods)
	}

	// The sweep is not vacuous: a platform token gets past authorization
	// (Unimplemented for a method not built yet, an answer for a built one).
	code, _ := call(t, srv.Client(), srv.URL, hookgatev1connect.MessageServiceGetMessageProcedure, false,
		[]byte(`{"tenant":"acme","messageId":"msg_x"}`), e.platform)
	if code != "unimplemented" {
		t.Fatalf("platform token on an unbuilt method: %s", code)
	}
	code, _ = call(t, srv.Client(), srv.URL, hookgatev1connect.InboundWebhookServiceGetWebhookProcedure, false,
		[]byte(`{"tenant":"acme","webhookId":"`+ids.webhookID+`"}`), acmeTok.Msg.Token)
	if code != "ok" {
		t.Fatalf("acme token on its own webhook: %s", code)
	}
}
