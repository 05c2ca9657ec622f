// Command hookgate is the one Hookgate binary: the all-in-one dev server, the
// production control plane, edge and dispatcher, and the admin CLI. It holds
// flags, environment, wiring and signals; the logic lives in the modules.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "hookgate: %v\n", err)
		os.Exit(1)
	}
}
