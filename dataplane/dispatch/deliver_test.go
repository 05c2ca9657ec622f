package dispatch_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/dispatch"
	"github.com/hookgate/hookgate/dataplane/verify"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// receiver is a real HTTP server that records the last request.
type receiver struct {
	*httptest.Server
	hits   atomic.Int64
	header atomic.Pointer[http.Header]
	body   atomic.Pointer[[]byte]
}

func newReceiver(t *testing.T, h func(w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		hd := r.Header.Clone()
		rc.header.Store(&hd)
		rc.body.Store(&b)
		h(w, r)
	}))
	t.Cleanup(rc.Close)
	return rc
}

func loopbackDeliverer() *dispatch.Deliverer {
	return dispatch.NewDeliverer(dispatch.DelivererConfig{
		Version: "1.2.3",
		Dialer:  dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy([]netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")})},
	})
}

func testMessage() *dispatch.Message {
	return &dispatch.Message{ID: "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", Tenant: "acme", AppID: "app_1", EventType: "order.created", Payload: []byte(`{"orderId":"ORD-12345"}`)}
}

func TestDeliverSuccess(t *testing.T) {
	t.Parallel()
	secret := newWhsec(t, 32)
	rc := newReceiver(t, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusAccepted)
		_, _ = w.Write([]byte("ok"))
	})
	ep := &dispatch.Endpoint{ID: "ep_1", URL: rc.URL + "/hook", Secrets: []dispatch.Secret{mustSecret(t, secret)},
		Headers: map[string]string{"X-Team": "billing", "Content-Type": "text/plain"}}
	a := loopbackDeliverer().Deliver(context.Background(), ep, testMessage(), 1, dispatch.TriggerScheduled)
	if !a.Succeeded() || a.StatusCode != http.StatusAccepted || string(a.Response) != "ok" {
		t.Fatalf("attempt = %+v", a)
	}
	if a.MessageID != testMessage().ID || a.EndpointID != "ep_1" || a.Number != 1 || a.Trigger != dispatch.TriggerScheduled ||
		a.URL != ep.URL || a.Time.IsZero() || a.Duration <= 0 || a.Disable != "" || a.RetryAfter != 0 {
		t.Fatalf("attempt record = %+v", a)
	}
	h := *rc.header.Load()
	for name, want := range map[string]string{
		"Content-Type": "application/json", "User-Agent": "Hookgate/1.2.3", "X-Team": "billing",
		"Webhook-Id": testMessage().ID,
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	body := *rc.body.Load()
	if !bytes.Equal(body, testMessage().Payload) {
		t.Fatalf("body = %q", body)
	}
	scheme, _ := verify.For(hookgatev1.Provider_PROVIDER_STANDARD_WEBHOOKS)
	if err := scheme.Verify(&verify.Request{Method: http.MethodPost, Header: h, Body: body, Now: time.Now()},
		verify.Secrets{"signing_secret": {secret}}); err != nil {
		t.Fatalf("receiver could not verify: %v", err)
	}
}

func TestDeliverOutcomes(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	date := time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat)
	big := strings.Repeat("x", 1<<20)

	target := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	tests := []struct {
		name    string
		handler func(w http.ResponseWriter, r *http.Request)
		timeout int
		status  int
		class   dispatch.ErrorClass
		check   func(t *testing.T, a dispatch.Attempt)
	}{
		{"500", func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}, 0, 500, dispatch.ClassHTTPStatus, func(t *testing.T, a dispatch.Attempt) {
			if string(a.Response) != "boom\n" || a.RetryAfter != 0 || a.Disable != "" {
				t.Fatalf("attempt = %+v", a)
			}
		}},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}, 100, 0, dispatch.ClassTimeout, func(t *testing.T, a dispatch.Attempt) {
			if a.Duration < 100*time.Millisecond {
				t.Fatalf("timed out after %s, before the endpoint's 100 ms", a.Duration)
			}
		}},
		{"redirect not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusFound)
		}, 0, 302, dispatch.ClassHTTPStatus, func(t *testing.T, _ dispatch.Attempt) {
			if n := target.hits.Load(); n != 0 {
				t.Fatalf("redirect target hit %d times", n)
			}
		}},
		{"307 not followed", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
		}, 0, 307, dispatch.ClassHTTPStatus, nil},
		{"big response truncated", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(big))
		}, 0, 200, "", func(t *testing.T, a dispatch.Attempt) {
			if len(a.Response) != dispatch.MaxResponse || string(a.Response) != big[:dispatch.MaxResponse] {
				t.Fatalf("kept %d bytes", len(a.Response))
			}
		}},
		{"429 retry-after seconds", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusTooManyRequests)
		}, 0, 429, dispatch.ClassHTTPStatus, func(t *testing.T, a dispatch.Attempt) {
			if a.RetryAfter != 120*time.Second {
				t.Fatalf("retry after %s", a.RetryAfter)
			}
		}},
		{"503 retry-after date", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", date)
			w.WriteHeader(http.StatusServiceUnavailable)
		}, 0, 503, dispatch.ClassHTTPStatus, func(t *testing.T, a dispatch.Attempt) {
			if a.RetryAfter < 80*time.Second || a.RetryAfter > 91*time.Second {
				t.Fatalf("retry after %s, want about 90 s", a.RetryAfter)
			}
		}},
		{"500 retry-after ignored", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(http.StatusInternalServerError)
		}, 0, 500, dispatch.ClassHTTPStatus, func(t *testing.T, a dispatch.Attempt) {
			if a.RetryAfter != 0 {
				t.Fatalf("retry after %s on a 500", a.RetryAfter)
			}
		}},
		{"410 disables", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusGone)
		}, 0, 410, dispatch.ClassHTTPStatus, func(t *testing.T, a dispatch.Attempt) {
			if a.Disable != dispatch.ReasonGone {
				t.Fatalf("disable = %q", a.Disable)
			}
		}},
		{"reset", func(w http.ResponseWriter, _ *http.Request) {
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}
		}, 0, 0, dispatch.ClassReset, nil},
	}
	d := loopbackDeliverer()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rc := newReceiver(t, tt.handler)
			a := d.Deliver(context.Background(), &dispatch.Endpoint{ID: "ep_1", URL: rc.URL, TimeoutMS: tt.timeout}, testMessage(), 2, dispatch.TriggerManual)
			if a.StatusCode != tt.status || a.ErrorClass != tt.class {
				t.Fatalf("status %d class %q, want %d %q", a.StatusCode, a.ErrorClass, tt.status, tt.class)
			}
			if a.Succeeded() != (tt.class == "") {
				t.Fatalf("succeeded = %v", a.Succeeded())
			}
			if tt.check != nil {
				tt.check(t, a)
			}
		})
	}
}

func TestDeliverConnectionErrors(t *testing.T) {
	t.Parallel()
	// A port nothing listens on: listen, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String() + "/"
	_ = ln.Close()
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(tlsSrv.Close)
	plain := newReceiver(t, func(http.ResponseWriter, *http.Request) {})
	noDNS := &netResolverFailing{}

	tests := []struct {
		name  string
		d     *dispatch.Deliverer
		url   string
		class dispatch.ErrorClass
	}{
		{"refused", loopbackDeliverer(), closed, dispatch.ClassRefused},
		{"blocked without allow list", dispatch.NewDeliverer(dispatch.DelivererConfig{}), plain.URL, dispatch.ClassBlockedAddress},
		{"blocked mapped literal", dispatch.NewDeliverer(dispatch.DelivererConfig{}), strings.Replace(plain.URL, "127.0.0.1", "[::ffff:127.0.0.1]", 1), dispatch.ClassBlockedAddress},
		{"tls untrusted", loopbackDeliverer(), tlsSrv.URL, dispatch.ClassTLS},
		{"https to plain http", loopbackDeliverer(), strings.Replace(plain.URL, "http:", "https:", 1), dispatch.ClassTLS},
		{"dns", dispatch.NewDeliverer(dispatch.DelivererConfig{Dialer: dispatch.DialerConfig{Resolver: noDNS.resolver()}}), "http://nowhere.example.test/", dispatch.ClassDNS},
		{"bad scheme", loopbackDeliverer(), "ftp://127.0.0.1/", dispatch.ClassInvalidRequest},
		{"no host", loopbackDeliverer(), "http:///path", dispatch.ClassInvalidRequest},
		{"unparsable", loopbackDeliverer(), "http://[::1", dispatch.ClassInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := tt.d.Deliver(context.Background(), &dispatch.Endpoint{ID: "ep_1", URL: tt.url, TimeoutMS: 5000}, testMessage(), 1, dispatch.TriggerTest)
			if a.ErrorClass != tt.class || a.StatusCode != 0 || a.Succeeded() {
				t.Fatalf("class %q status %d, want %q", a.ErrorClass, a.StatusCode, tt.class)
			}
		})
	}
	if n := plain.hits.Load(); n != 0 {
		t.Fatalf("blocked receiver was hit %d times", n)
	}
}

func TestDeliverTrustedTLSAndCancel(t *testing.T) {
	t.Parallel()
	// The slow handler also ends when the test does: a cancelled request
	// whose stream reset the server never saw would hold srv.Close.
	over := make(chan struct{})
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			select {
			case <-r.Context().Done():
			case <-over:
			}
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(over) }) // runs before srv.Close
	d := dispatch.NewDeliverer(dispatch.DelivererConfig{
		Dialer: dispatch.DialerConfig{Policy: dispatch.NewAddressPolicy(prefixes(t, "127.0.0.1/32"))},
		TLS:    &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs},
	})
	if a := d.Deliver(context.Background(), &dispatch.Endpoint{ID: "ep", URL: srv.URL}, testMessage(), 1, dispatch.TriggerTest); !a.Succeeded() || a.StatusCode != 204 {
		t.Fatalf("https attempt = %+v", a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan dispatch.Attempt)
	go func() {
		done <- d.Deliver(ctx, &dispatch.Endpoint{ID: "ep", URL: srv.URL + "/slow"}, testMessage(), 1, dispatch.TriggerTest)
	}()
	cancel()
	if a := <-done; a.ErrorClass != dispatch.ClassCancelled {
		t.Fatalf("cancelled attempt class %q", a.ErrorClass)
	}
}

func TestEndpointTimeout(t *testing.T) {
	t.Parallel()
	for ms, want := range map[int]time.Duration{0: 5 * time.Second, -1: 5 * time.Second, 250: 250 * time.Millisecond, 30000: 30 * time.Second, 60000: 30 * time.Second} {
		if got := (&dispatch.Endpoint{TimeoutMS: ms}).Timeout(); got != want {
			t.Errorf("timeout_ms %d = %s, want %s", ms, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 23, 15, 30, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"5", 5 * time.Second},
		{"-5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"99999999999999", 30 * 24 * time.Hour},
		{"Mon, 23 Mar 2026 15:32:00 GMT", 2 * time.Minute},
		{"Mon, 23 Mar 2026 15:00:00 GMT", 0},
		{"Monday, 23-Mar-26 15:31:00 GMT", time.Minute},
	}
	for _, tt := range tests {
		if got := dispatch.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// netResolverFailing is a resolver whose DNS server cannot be reached.
type netResolverFailing struct{}

func (netResolverFailing) resolver() *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no dns server in this test")
	}}
}
