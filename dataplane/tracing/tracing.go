// Package tracing provides Hookgate's OpenTelemetry set-up: a tracer
// provider that exports spans over OTLP/HTTP when an endpoint is
// configured and is a no-op otherwise, the W3C Trace Context propagator,
// and carriers that move trace context in and out of NATS message headers
// and HTTP headers. It keeps no global state: the provider and the
// propagator travel as values (Tracing), so tests pass an in-memory
// exporter (sdk/trace/tracetest) and production passes OTLP. It never
// records secrets: callers choose the attributes, and the helpers here add
// none.
package tracing

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
)

// Config says where spans go. The zero value is tracing off.
type Config struct {
	// Endpoint is the OTLP/HTTP collector (--otlp-endpoint): host:port
	// (e.g. "collector:4318", spans POSTed to /v1/traces) or a URL
	// ("https://collector:4318", the same; a URL with a path is used as
	// it is). Empty turns tracing off.
	Endpoint string
	// Insecure sends host:port endpoints over plain HTTP (--otlp-insecure);
	// a URL's scheme decides for itself.
	Insecure bool
}

// Validate reports an endpoint that cannot be used, naming the flag.
func (c Config) Validate() error {
	if c.Endpoint == "" {
		return nil
	}
	if u, err := url.Parse(c.Endpoint); err == nil && u.Scheme != "" && u.Host != "" {
		if u.Scheme != "http" && u.Scheme != "https" {
			return fmt.Errorf("flag --otlp-endpoint %q: want host:port or an http(s):// URL", c.Endpoint)
		}
		if u.User != nil {
			// Credentials in the URL would end up in logs and errors.
			return fmt.Errorf("flag --otlp-endpoint: a URL with credentials is refused")
		}
		return nil
	}
	if host, port, err := net.SplitHostPort(c.Endpoint); err != nil || host == "" || port == "" {
		return fmt.Errorf("flag --otlp-endpoint %q: want host:port or an http(s):// URL", c.Endpoint)
	}
	return nil
}

// Tracing is a tracer provider with its propagator and shutdown. The zero
// value and nil are tracing off.
type Tracing struct {
	provider   trace.TracerProvider
	propagator propagation.TextMapPropagator
	shutdown   func(context.Context) error
	enabled    bool
}

// Off returns tracing that records and propagates nothing.
func Off() *Tracing { return nil }

// New sets up tracing for service (the OTLP resource's service.name) from
// cfg: spans batched to the OTLP/HTTP exporter when cfg.Endpoint is set,
// else tracing off. The exporter connects lazily, so an unreachable
// collector does not fail start-up (its export errors go to OpenTelemetry's
// error handler).
func New(ctx context.Context, cfg Config, service string) (*Tracing, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Endpoint == "" {
		return Off(), nil
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithTimeout(10 * time.Second)}
	if u, err := url.Parse(cfg.Endpoint); err == nil && u.Scheme != "" && u.Host != "" {
		// A URL without a path is the collector's base, as OTLP's
		// OTEL_EXPORTER_OTLP_ENDPOINT is: spans go to /v1/traces there.
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces"
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	} else {
		opts = append(opts, otlptracehttp.WithEndpoint(cfg.Endpoint))
		if cfg.Insecure {
			opts = append(opts, otlptracehttp.WithInsecure())
		}
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("flag --otlp-endpoint: OTLP exporter: %w", err)
	}
	return WithProvider(sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(exp),
		sdktrace.WithResource(Resource(service)),
	)), nil
}

// Resource names the service in exported spans.
func Resource(service string) *resource.Resource {
	return resource.NewSchemaless(attribute.String("service.name", service))
}

// WithProvider is tracing with the SDK provider tp (tests build one over
// tracetest.NewInMemoryExporter with WithSyncer) and the W3C Trace Context
// propagator; Shutdown shuts tp down.
func WithProvider(tp *sdktrace.TracerProvider) *Tracing {
	return &Tracing{provider: tp, propagator: Propagator(), shutdown: tp.Shutdown, enabled: true}
}

// Propagator is the W3C Trace Context propagator (traceparent, tracestate).
func Propagator() propagation.TextMapPropagator { return propagation.TraceContext{} }

// Enabled reports whether spans are recorded and context propagated; when
// false the callers skip tracing altogether, so it costs one branch.
func (t *Tracing) Enabled() bool { return t != nil && t.enabled }

// Provider is the tracer provider; a no-op one when tracing is off.
func (t *Tracing) Provider() trace.TracerProvider {
	if !t.Enabled() {
		return noop.NewTracerProvider()
	}
	return t.provider
}

// Propagator is the propagator; it injects and extracts nothing when
// tracing is off.
func (t *Tracing) Propagator() propagation.TextMapPropagator {
	if !t.Enabled() {
		return propagation.NewCompositeTextMapPropagator()
	}
	return t.propagator
}

// Tracer is the named tracer of the provider.
func (t *Tracing) Tracer(name string) trace.Tracer { return t.Provider().Tracer(name) }

// ShutdownTimeout bounds Close.
const ShutdownTimeout = 5 * time.Second

// Close is Shutdown within ShutdownTimeout, for a part's last act.
func (t *Tracing) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer cancel()
	return t.Shutdown(ctx)
}

// Shutdown flushes the spans not yet exported and stops the exporter,
// within ctx. It does nothing when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() || t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("tracing: shut down: %w", err)
	}
	return nil
}
