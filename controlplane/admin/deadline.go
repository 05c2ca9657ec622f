package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
)

// DefaultCallTimeout bounds each unary admin call when Config leaves it 0.
const DefaultCallTimeout = 10 * time.Second

// Config holds the admin API's settings; the zero value is the defaults.
type Config struct {
	// CallTimeout bounds each unary admin call, the token lookup included,
	// so an etcd without quorum answers Unavailable instead of holding a
	// goroutine per call. An earlier deadline sent by the client wins.
	// 0 means DefaultCallTimeout.
	CallTimeout time.Duration
}

// Validate reports a setting out of range.
func (c Config) Validate() error {
	if c.CallTimeout < 0 {
		return fmt.Errorf("admin call timeout %s: must not be negative", c.CallTimeout)
	}
	return nil
}

func (c Config) callTimeout() time.Duration {
	if c.CallTimeout == 0 {
		return DefaultCallTimeout
	}
	return c.CallTimeout
}

// withCallDeadline bounds unary calls of the services below it. It is
// middleware rather than a Connect interceptor because the deadline must
// also cover the authentication middleware's etcd read, which runs before
// any interceptor. connect-go applies the client's own timeout (grpc-timeout,
// Connect-Timeout-Ms) to the same context, so the earlier deadline wins.
// Streaming methods are left alone: they live as long as their client.
func withCallDeadline(timeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if IsStreaming(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// IsStreaming reports whether the procedure path (/pkg.Service/Method)
// names a streaming method of a registered service: such a call lives as
// long as its client, so no call deadline bounds it.
func IsStreaming(path string) bool {
	name := protoreflect.FullName(strings.ReplaceAll(strings.Trim(path, "/"), "/", "."))
	if !name.IsValid() {
		return false
	}
	d, err := protoregistry.GlobalFiles.FindDescriptorByName(name)
	if err != nil {
		return false
	}
	m, ok := d.(protoreflect.MethodDescriptor)
	return ok && (m.IsStreamingClient() || m.IsStreamingServer())
}
