package main

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/spf13/pflag"
)

// natsFlags are the data plane's NATS and stream settings.
type natsFlags struct {
	url           string
	ensureStreams bool
	replicas      int
	storage       string
	maxAge        time.Duration
	duplicates    time.Duration
}

func (n *natsFlags) register(fs *pflag.FlagSet) {
	d := streams.DefaultConfig()
	fs.StringVar(&n.url, "nats-url", nats.DefaultURL, "NATS server URLs, comma separated")
	fs.BoolVar(&n.ensureStreams, "ensure-streams", true, "create or update the JetStream streams at start-up")
	fs.IntVar(&n.replicas, "stream-replicas", d.Replicas, "stream replicas (1 for one server, 3 for a cluster)")
	fs.StringVar(&n.storage, "stream-storage", "file", "stream storage: file or memory")
	fs.DurationVar(&n.maxAge, "stream-max-age", d.MaxAge, "how long streams keep events")
	fs.DurationVar(&n.duplicates, "stream-duplicates", d.Duplicates, "window in which a repeated Nats-Msg-Id is dropped")
}

func (n natsFlags) streamConfig() (streams.Config, error) {
	cfg := streams.Config{Replicas: n.replicas, MaxAge: n.maxAge, Duplicates: n.duplicates}
	switch n.storage {
	case "file":
		cfg.Storage = jetstream.FileStorage
	case "memory":
		cfg.Storage = jetstream.MemoryStorage
	default:
		return cfg, fmt.Errorf("flag --stream-storage %q: want file or memory", n.storage)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, fmt.Errorf("stream flags: %w", err)
	}
	return cfg, nil
}

// connectJetStream connects to NATS and, when asked, ensures the named
// streams. The connection reconnects forever once established.
func connectJetStream(ctx context.Context, role string, n natsFlags, log *slog.Logger, want ...func(streams.Config) jetstream.StreamConfig) (*nats.Conn, jetstream.JetStream, error) {
	scfg, err := n.streamConfig()
	if err != nil {
		return nil, nil, err
	}
	nc, err := nats.Connect(n.url,
		nats.Name("hookgate-"+role),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			// A nil error is our own Close or Drain at shutdown.
			if err != nil {
				log.Warn("nats disconnected", "role", role, "err", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { log.Info("nats reconnected", "role", role) }),
	)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: nats %s: %w", role, n.url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("%s: jetstream: %w", role, err)
	}
	if n.ensureStreams {
		for _, cfgOf := range want {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			_, err := streams.Ensure(sctx, js, cfgOf(scfg))
			cancel()
			if err != nil {
				nc.Close()
				return nil, nil, fmt.Errorf("%s: %w", role, err)
			}
		}
	}
	return nc, js, nil
}

func streamCheck(js jetstream.JetStream, name string) check {
	return check{name: "stream " + name, fn: func(ctx context.Context) (string, error) {
		_, err := js.Stream(ctx, name)
		return "", err
	}}
}

func natsCheck(nc *nats.Conn) check {
	return check{name: "nats", fn: func(context.Context) (string, error) { return "", natsStatus(nc) }}
}
