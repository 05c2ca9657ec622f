package main

import (
	"github.com/hookgate/hookgate/dataplane/tracing"
	"github.com/spf13/pflag"
)

// registerTracingFlags adds the OpenTelemetry flags every server command
// (dev, controlplane, edge, dispatcher) takes.
func registerTracingFlags(fs *pflag.FlagSet, c *tracing.Config) {
	fs.StringVar(&c.Endpoint, "otlp-endpoint", "", "export trace spans over OTLP/HTTP to this collector: host:port (e.g. 127.0.0.1:4318) or an http(s):// URL; empty turns tracing off")
	fs.BoolVar(&c.Insecure, "otlp-insecure", false, "send spans to a host:port --otlp-endpoint over plain HTTP instead of HTTPS (a URL's scheme decides for itself)")
}
