// Package natsconn connects Hookgate's processes to NATS: the server URLs,
// the credentials (a .creds file, an nkey seed, user and password, or a
// token) and TLS every component and the CLI accept, and the JetStream
// streams the data-plane parts ensure at start-up.
package natsconn

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/serve"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"
)

// Config says how to reach NATS. At most one kind of credential may be
// set; the TLS files are independent of it.
type Config struct {
	URL string
	// CredsFile is a NATS .creds file (user JWT and nkey seed).
	CredsFile string
	// NkeyFile holds an nkey user seed (SU…); hookgate dev writes one.
	NkeyFile string
	// User and Password authenticate with a user name and password.
	User, Password string
	// CAFile verifies the servers' certificates; CertFile and KeyFile are
	// the client certificate for servers that verify clients.
	CAFile, CertFile, KeyFile string
}

// Validate reports conflicting or incomplete settings, naming the flags.
func (c Config) Validate() error {
	if c.URL == "" {
		return errors.New("flag --nats-url: required")
	}
	n := 0
	for _, set := range []bool{c.CredsFile != "", c.NkeyFile != "", c.User != "" || c.Password != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errors.New("flags --nats-creds, --nats-nkey and --nats-user/--nats-password: give one kind of NATS credential")
	}
	if (c.User == "") != (c.Password == "") {
		return errors.New("flags --nats-user and --nats-password: give both or neither")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("flags --nats-tls-cert and --nats-tls-key: give both or neither")
	}
	return nil
}

// Options are the nats.Options of c, for a connection named name.
func (c Config) Options(name string) ([]nats.Option, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	opts := []nats.Option{nats.Name(name)}
	switch {
	case c.CredsFile != "":
		opts = append(opts, nats.UserCredentials(c.CredsFile))
	case c.NkeyFile != "":
		opt, err := nats.NkeyOptionFromSeed(c.NkeyFile)
		if err != nil {
			return nil, fmt.Errorf("flag --nats-nkey %s: %w", c.NkeyFile, err)
		}
		opts = append(opts, opt)
	case c.User != "":
		opts = append(opts, nats.UserInfo(c.User, c.Password))
	}
	if c.CAFile != "" {
		opts = append(opts, nats.RootCAs(c.CAFile))
	}
	if c.CertFile != "" {
		opts = append(opts, nats.ClientCert(c.CertFile, c.KeyFile))
	}
	return opts, nil
}

// Connect dials NATS once; a process that must keep running passes
// nats.MaxReconnects(-1) in extra.
func (c Config) Connect(name string, extra ...nats.Option) (*nats.Conn, error) {
	opts, err := c.Options(name)
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(c.URL, append(opts, extra...)...)
	if err != nil {
		return nil, fmt.Errorf("nats %s: %w", c.URL, err)
	}
	return nc, nil
}

// Server is a long-lived connection of a server process: it reconnects
// forever and logs disconnections.
func (c Config) Server(role string, log *slog.Logger) (*nats.Conn, error) {
	return c.Connect("hookgate-"+role,
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			// A nil error is our own Close or Drain at shutdown.
			if err != nil {
				log.Warn("nats disconnected", "role", role, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected", "role", role) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			log.Warn("nats error", "role", role, "err", err)
		}),
	)
}

// Streams are the data plane's stream settings.
type Streams struct {
	// Ensure creates or updates the streams at start-up; false leaves
	// them to the operator.
	Ensure     bool
	Replicas   int
	Storage    string // file or memory
	MaxAge     time.Duration
	Duplicates time.Duration
	// EnsureWait bounds the retries of Ensure (0: DefaultEnsureWait).
	EnsureWait time.Duration
	// AttemptsMaxAge is how long attempt records and delivery states are
	// kept.
	AttemptsMaxAge time.Duration
}

// DefaultStreams are the documented defaults.
func DefaultStreams() Streams {
	d := streams.DefaultConfig()
	return Streams{Ensure: true, Replicas: d.Replicas, Storage: "file", MaxAge: d.MaxAge, Duplicates: d.Duplicates,
		AttemptsMaxAge: streams.DefaultAttemptsMaxAge}
}

// Config is the streams.Config these settings describe; the error names
// the flag at fault.
func (s Streams) Config() (streams.Config, error) {
	cfg := streams.Config{Replicas: s.Replicas, MaxAge: s.MaxAge, Duplicates: s.Duplicates, AttemptsMaxAge: s.AttemptsMaxAge}
	if s.AttemptsMaxAge < 0 {
		return cfg, fmt.Errorf("flag --attempts-max-age %s: must not be negative", s.AttemptsMaxAge)
	}
	switch s.Storage {
	case "file":
		cfg.Storage = jetstream.FileStorage
	case "memory":
		cfg.Storage = jetstream.MemoryStorage
	default:
		return cfg, fmt.Errorf("flag --stream-storage %q: want file or memory", s.Storage)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("stream flags: %w", err)
	}
	return cfg, nil
}

// EnsureAll creates or updates the streams want names, when s says so.
// A cluster that has just (re)started answers only once its streams have
// elected leaders, so a failed attempt is retried until EnsureWait has
// passed; the last error is returned.
func (s Streams) EnsureAll(ctx context.Context, js jetstream.JetStream, log *slog.Logger, want ...func(streams.Config) jetstream.StreamConfig) error {
	cfg, err := s.Config()
	if err != nil {
		return err
	}
	if !s.Ensure {
		return nil
	}
	wait := s.EnsureWait
	if wait <= 0 {
		wait = DefaultEnsureWait
	}
	for _, cfgOf := range want {
		sc := cfgOf(cfg)
		err := Retry(ctx, log, "stream "+sc.Name, wait, func(ctx context.Context) error {
			_, err := streams.Ensure(ctx, js, sc)
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Retry calls fn, each call bounded to 5 s, until it succeeds, ctx ends
// or wait has passed, and returns fn's last error. A JetStream cluster
// that has just (re)started answers stream requests only once each
// stream has elected a leader.
func Retry(ctx context.Context, log *slog.Logger, what string, wait time.Duration, fn func(context.Context) error) error {
	deadline := time.Now().Add(wait)
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := fn(actx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		log.Warn("not ready, retrying", "what", what, "attempt", attempt, "err", err)
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(min(attempt, 10)) * 100 * time.Millisecond):
		}
	}
}

// DefaultEnsureWait is how long a starting part waits for its streams.
const DefaultEnsureWait = 60 * time.Second

// JetStream connects a data-plane part and ensures the streams it needs.
func JetStream(ctx context.Context, role string, c Config, s Streams, log *slog.Logger, want ...func(streams.Config) jetstream.StreamConfig) (*nats.Conn, jetstream.JetStream, error) {
	if _, err := s.Config(); err != nil {
		return nil, nil, err
	}
	nc, err := c.Server(role, log)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", role, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: jetstream: %w", role, err)
	}
	if err := s.EnsureAll(ctx, js, log, want...); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: %w", role, err)
	}
	return nc, js, nil
}

// StreamCheck is ready while the stream answers STREAM.INFO. It makes a
// request per probe: serve it on ops ports only.
func StreamCheck(js jetstream.JetStream, name string) serve.Check {
	return serve.Check{Name: "stream " + name, Fn: func(ctx context.Context) (string, error) {
		_, err := js.Stream(ctx, name)
		return "", err
	}}
}

// RegisterFlags adds the NATS connection flags to fs; every component and
// the CLI take the same ones.
func (c *Config) RegisterFlags(fs *pflag.FlagSet) {
	fs.StringVar(&c.URL, "nats-url", nats.DefaultURL, "NATS server URLs, comma separated")
	fs.StringVar(&c.CredsFile, "nats-creds", "", "NATS credentials file (.creds: user JWT and nkey seed)")
	fs.StringVar(&c.NkeyFile, "nats-nkey", "", "file holding a NATS nkey user seed")
	fs.StringVar(&c.User, "nats-user", "", "NATS user name (with --nats-password)")
	fs.StringVar(&c.Password, "nats-password", "", "NATS password (prefer HOOKGATE_NATS_PASSWORD)")
	fs.StringVar(&c.CAFile, "nats-tls-ca", "", "CA (PEM) that signs the NATS servers' certificates")
	fs.StringVar(&c.CertFile, "nats-tls-cert", "", "client certificate (PEM) for NATS servers that verify clients")
	fs.StringVar(&c.KeyFile, "nats-tls-key", "", "key (PEM) of --nats-tls-cert")
}

// RegisterFlags adds the stream flags to fs, with the defaults.
func (s *Streams) RegisterFlags(fs *pflag.FlagSet) {
	d := DefaultStreams()
	fs.BoolVar(&s.Ensure, "ensure-streams", d.Ensure, "create or update the JetStream streams at start-up")
	fs.IntVar(&s.Replicas, "stream-replicas", d.Replicas, "stream replicas (1 for one server, 3 for a cluster)")
	fs.StringVar(&s.Storage, "stream-storage", d.Storage, "stream storage: file or memory")
	fs.DurationVar(&s.MaxAge, "stream-max-age", d.MaxAge, "how long streams keep events")
	fs.DurationVar(&s.Duplicates, "stream-duplicates", d.Duplicates, "window in which a repeated Nats-Msg-Id is dropped")
	fs.DurationVar(&s.AttemptsMaxAge, "attempts-max-age", d.AttemptsMaxAge, "how long delivery attempts and delivery states are kept (dispatchers)")
}
