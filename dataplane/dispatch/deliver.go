package dispatch

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"

	"github.com/hookgate/hookgate/dataplane/tracing"
)

// Delivery limits (issue 11 "Dispatchers").
const (
	DefaultTimeout = 5 * time.Second
	MaxTimeout     = 30 * time.Second
	// MaxResponse is how much of a response body an attempt keeps.
	MaxResponse = 1 << 10
	// drainLimit is how much more of a response is read (and dropped) so
	// the connection can be reused; a longer body closes it instead.
	drainLimit = 64 << 10
)

// Endpoint is what delivery needs of an endpoint, filled from the
// dispatcher's configuration stream.
type Endpoint struct {
	ID     string
	Tenant string
	URL    string
	// Secrets sign every attempt, current first; two or more during a
	// rotation's grace period.
	Secrets []Secret
	// Headers are the endpoint's custom headers, already validated by the
	// control plane (no hop-by-hop, Host, Content-Length or webhook-*).
	Headers map[string]string
	// TimeoutMS bounds an attempt; 0 is DefaultTimeout, and it is capped at
	// MaxTimeout.
	TimeoutMS int
	// RatePerSecond and Burst limit the requests per second to the
	// endpoint across all dispatchers (0: no limit); MaxInFlight caps the
	// requests in flight (0: no cap).
	RatePerSecond float64
	Burst         int
	MaxInFlight   int
}

// Timeout is the endpoint's attempt timeout, defaulted and capped.
func (e *Endpoint) Timeout() time.Duration {
	if e.TimeoutMS <= 0 {
		return DefaultTimeout
	}
	return min(time.Duration(e.TimeoutMS)*time.Millisecond, MaxTimeout)
}

// Message is one outbound message; Payload is the JSON body, sent as is.
type Message struct {
	ID        string
	Tenant    string
	AppID     string
	EventType string
	Payload   []byte
}

// Trigger is why an attempt was made.
type Trigger string

// Triggers of attempts.
const (
	TriggerScheduled Trigger = "scheduled"
	TriggerManual    Trigger = "manual"
	TriggerRecover   Trigger = "recover"
	TriggerTest      Trigger = "test"
)

// DisableReason is why an attempt's answer disables its endpoint.
type DisableReason string

// ReasonGone: the endpoint answered 410 Gone.
const ReasonGone DisableReason = "gone"

// Attempt is the record of one delivery attempt.
type Attempt struct {
	MessageID  string
	EndpointID string
	// Number counts attempts of this (message, endpoint), from 1.
	Number  int
	Trigger Trigger
	// Time is when the request started (and the signed timestamp).
	Time     time.Time
	Duration time.Duration
	// URL is the endpoint URL with any password redacted.
	URL string
	// StatusCode is the answer's status, 0 when none came.
	StatusCode int
	// ErrorClass is "" on success, ClassHTTPStatus for a status outside
	// 2xx, else the network failure's class.
	ErrorClass ErrorClass
	// Response holds at most MaxResponse bytes of the answer's body.
	Response []byte
	// RetryAfter is the answer's Retry-After on 429 and 503, 0 for none.
	RetryAfter time.Duration
	// Disable is set when the answer disables the endpoint (410).
	Disable DisableReason
	// NextRetry is when the next attempt is due; zero when none is (set
	// from the schedule, see Schedule.Next).
	NextRetry time.Time
}

// Succeeded reports whether the endpoint answered 2xx.
func (a *Attempt) Succeeded() bool { return a.ErrorClass == "" }

// DelivererConfig configures NewDeliverer.
type DelivererConfig struct {
	// Version goes into User-Agent: Hookgate/<version>.
	Version string
	// Dialer decides which addresses may be reached (the SSRF policy).
	Dialer DialerConfig
	// TLS overrides the client TLS configuration (tests add a root CA);
	// nil is the system's roots.
	TLS *tls.Config
	// Now is the clock; nil is time.Now.
	Now func() time.Time
	// Tracing puts the trace context of the ctx given to Deliver (the
	// attempt's span, Tracer.StartAttempt) on the request as traceparent
	// and tracestate; nil is tracing off.
	Tracing *tracing.Tracing
}

// Deliverer makes delivery attempts over one pooled HTTP client whose every
// connection passes the address policy. It is safe for concurrent use.
type Deliverer struct {
	client    *http.Client
	userAgent string
	now       func() time.Time
	tracing   *tracing.Tracing
}

// NewDeliverer returns a Deliverer.
func NewDeliverer(cfg DelivererConfig) *Deliverer {
	if cfg.Version == "" {
		cfg.Version = "dev"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Dialer.Timeout == 0 {
		cfg.Dialer.Timeout = MaxTimeout
	}
	dialer := NewDialer(cfg.Dialer)
	transport := &http.Transport{
		// Never a proxy from the environment: it would connect to the
		// endpoint for us, past the address policy.
		Proxy:               nil,
		DialContext:         dialer.DialContext,
		TLSClientConfig:     cfg.TLS,
		ForceAttemptHTTP2:   true,
		TLSHandshakeTimeout: 10 * time.Second,
		MaxIdleConns:        1024,
		// As many as one endpoint may have attempts running (the engine's
		// EndpointWorkers): fewer would close and reopen connections to a
		// busy endpoint on every burst.
		MaxIdleConnsPerHost:   DefaultWorkers,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: MaxTimeout,
	}
	return &Deliverer{
		client: &http.Client{
			Transport: transport,
			// Redirects are never followed (issue 11): a 3xx is the answer.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		userAgent: "Hookgate/" + cfg.Version,
		now:       cfg.Now,
		tracing:   cfg.Tracing,
	}
}

// CloseIdle closes pooled connections.
func (d *Deliverer) CloseIdle() { d.client.CloseIdleConnections() }

// Deliver makes one attempt: POST msg's payload to ep, signed, within ep's
// timeout, and returns its record. It never returns an error: every
// outcome is an Attempt. NextRetry is left for the schedule to fill.
func (d *Deliverer) Deliver(ctx context.Context, ep *Endpoint, msg *Message, number int, trigger Trigger) Attempt {
	start := d.now()
	a := Attempt{
		MessageID: msg.ID, EndpointID: ep.ID, Number: number, Trigger: trigger,
		Time: start, URL: redactURL(ep.URL),
	}
	ctx, cancel := context.WithTimeout(ctx, ep.Timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(msg.Payload))
	if err != nil || (req.URL.Scheme != "https" && req.URL.Scheme != "http") || req.URL.Host == "" {
		a.ErrorClass = ClassInvalidRequest
		return a
	}
	for k, v := range ep.Headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", d.userAgent)
	SetSignatureHeaders(req.Header, msg.ID, start, msg.Payload, ep.Secrets)
	// After the endpoint's headers, so the attempt's own context wins.
	d.tracing.InjectHTTP(ctx, req.Header)

	resp, err := d.client.Do(req)
	if err != nil {
		a.Duration = d.now().Sub(start)
		a.ErrorClass = classify(ctx, err)
		return a
	}
	a.StatusCode = resp.StatusCode
	a.Response = readResponse(resp.Body)
	a.Duration = d.now().Sub(start)
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return a
	case resp.StatusCode == http.StatusGone:
		a.Disable = ReasonGone
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		a.RetryAfter = ParseRetryAfter(resp.Header.Get("Retry-After"), d.now())
	}
	a.ErrorClass = ClassHTTPStatus
	return a
}

// readResponse keeps the first MaxResponse bytes, drains a little more so
// the connection can be reused, and closes the body. A body that fails to
// read midway keeps what arrived: the status decides the outcome.
func readResponse(body io.ReadCloser) []byte {
	defer body.Close()
	buf, _ := io.ReadAll(io.LimitReader(body, MaxResponse))
	_, _ = io.Copy(io.Discard, io.LimitReader(body, drainLimit))
	return buf
}

// ParseRetryAfter reads a Retry-After value (RFC 9110 §10.2.3): delay
// seconds or an HTTP date, relative to now. Absent, malformed or past
// values are 0.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		// Bound before multiplying; the schedule clamps it anyway.
		return time.Duration(min(secs, int64(30*24*time.Hour/time.Second))) * time.Second
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d := t.Sub(now); d > 0 {
		return d
	}
	return 0
}

// classify maps a client error to its class. ctx is the attempt's context,
// whose deadline is the endpoint's timeout.
func classify(ctx context.Context, err error) ErrorClass {
	var blocked *BlockedError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var recordErr tls.RecordHeaderError
	var alertErr tls.AlertError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	var urlErr *url.Error
	var netErr net.Error
	switch {
	case errors.As(err, &blocked):
		return ClassBlockedAddress
	case errors.As(err, &dnsErr) && ctx.Err() == nil:
		return ClassDNS
	case errors.As(err, &certErr), errors.As(err, &recordErr), errors.As(err, &alertErr),
		errors.As(err, &unknownCA), errors.As(err, &hostErr), errors.As(err, &invalidCert):
		return ClassTLS
	case errors.Is(err, syscall.ECONNREFUSED):
		return ClassRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return ClassReset
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return ClassTimeout
	}
	if ctx.Err() != nil {
		return ClassCancelled
	}
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ClassTimeout
	}
	if errors.As(err, &urlErr) && errors.Is(urlErr.Err, http.ErrSchemeMismatch) {
		return ClassTLS
	}
	return ClassConnection
}

// redactURL hides a password in u; an unparsable URL is recorded only by
// its length.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return fmt.Sprintf("<invalid url of %d bytes>", len(u))
	}
	return p.Redacted()
}
