package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/hookgate/hookgate/cmd/hookgate/cli"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

const envPrefix = "HOOKGATE_"

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "hookgate",
		Short:         "Hookgate receives and sends webhooks",
		SilenceUsage:  true,
		SilenceErrors: true,
		// A flag can also come from HOOKGATE_<FLAG> (dashes as
		// underscores); a flag on the command line wins. Server commands
		// take every flag so; the CLI only its connection flags, so that a
		// stray HOOKGATE_NAME or HOOKGATE_URL cannot slip into a create or
		// an update's field mask.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags(), envFlags(cmd))
		},
	}
	root.AddCommand(
		newDevCommand(),
		newControlPlaneCommand(),
		newEdgeCommand(),
		newDispatcherCommand(),
		newDevNodeCommand(),
	)
	root.AddCommand(cli.Commands()...)
	return root
}

// serverCommands take every flag from the environment.
var serverCommands = []string{"dev", "controlplane", "edge", "dispatcher", "devnode"}

// cliEnvFlags are the CLI flags the environment may set: where to connect
// and how, never what to change.
var cliEnvFlags = []string{"server", "token", "output", "ca-file", "client-cert", "client-key", "edge",
	"nats-url", "nats-creds", "nats-nkey", "nats-user", "nats-password", "nats-tls-ca", "nats-tls-cert", "nats-tls-key"}

// envFlags says which of cmd's flags the environment may set.
func envFlags(cmd *cobra.Command) func(name string) bool {
	top := cmd
	for top.HasParent() && top.Parent().HasParent() {
		top = top.Parent()
	}
	if slices.Contains(serverCommands, top.Name()) {
		return func(string) bool { return true }
	}
	return func(name string) bool { return slices.Contains(cliEnvFlags, name) }
}

// applyEnv sets each flag allowed and not given on the command line from
// its environment variable.
func applyEnv(flags *pflag.FlagSet, allowed func(name string) bool) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed || !allowed(f.Name) {
			return
		}
		name := envPrefix + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if setErr := flags.Set(f.Name, v); setErr != nil {
				err = fmt.Errorf("environment %s: %w", name, setErr)
			}
		}
	})
	return err
}

// logFlags are the logging flags every server command takes.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(fs *pflag.FlagSet, defaultFormat string) {
	fs.StringVar(&l.format, "log-format", defaultFormat, "log format: json or text")
	fs.StringVar(&l.level, "log-level", "info", "log level: debug, info, warn or error")
}

func (l *logFlags) logger() (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(l.level)); err != nil {
		return nil, fmt.Errorf("flag --log-level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch l.format {
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	default:
		return nil, fmt.Errorf("flag --log-format %q: want json or text", l.format)
	}
}
