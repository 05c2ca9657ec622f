package main

import (
	"fmt"
	"log/slog"
	"os"
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
		// Every flag can also come from HOOKGATE_<FLAG> (dashes as
		// underscores); a flag on the command line wins.
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return applyEnv(cmd.Flags())
		},
	}
	root.AddCommand(
		newDevCommand(),
		newControlPlaneCommand(),
		newEdgeCommand(),
		newDispatcherCommand(),
	)
	root.AddCommand(cli.Commands()...)
	return root
}

// applyEnv sets each flag not given on the command line from its
// environment variable.
func applyEnv(flags *pflag.FlagSet) error {
	var err error
	flags.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
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
