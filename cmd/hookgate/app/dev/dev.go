package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/streams"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"
)

type devFlags struct {
	dataDir      string
	adminAddr    string
	edgeAddr     string
	opsAddr      string
	etcdAddr     string
	etcdPeerAddr string
	natsAddr     string
	publicURL    string
	logs         logFlags
}

func newDevCommand() *cobra.Command {
	var f devFlags
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run everything in one process: embedded etcd and NATS, control plane, edge and dispatcher",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDev(cmd.Context(), f, cmd.OutOrStdout())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&f.dataDir, "data-dir", ".hookgate", "folder for etcd, NATS, keyring and admin token; reused across restarts")
	fs.StringVar(&f.adminAddr, "admin-addr", "127.0.0.1:8070", "admin API address")
	fs.StringVar(&f.edgeAddr, "edge-addr", "127.0.0.1:8080", "edge ingress address")
	fs.StringVar(&f.opsAddr, "ops-addr", "127.0.0.1:8090", "ops address of the edge and dispatcher (/healthz, /readyz, /metrics)")
	fs.StringVar(&f.etcdAddr, "etcd-addr", "127.0.0.1:2379", "embedded etcd client address")
	fs.StringVar(&f.etcdPeerAddr, "etcd-peer-addr", "127.0.0.1:2380", "embedded etcd peer address")
	fs.StringVar(&f.natsAddr, "nats-addr", "127.0.0.1:4222", "embedded NATS address")
	fs.StringVar(&f.publicURL, "public-url", "", "the edge's public base URL in webhook URLs (default: the edge address)")
	f.logs.register(fs, "text")
	return cmd
}

// runDev is the production parts with a preset configuration: it starts
// embedded etcd and NATS, then the same control plane, edge and dispatcher
// the production commands start.
func runDev(ctx context.Context, f devFlags, out io.Writer) (err error) {
	log, err := f.logs.logger()
	if err != nil {
		return err
	}
	if err := prepareDataDir(f.dataDir); err != nil {
		return err
	}
	etcd, etcdURL, err := startEtcd(filepath.Join(f.dataDir, "etcd"), f.etcdAddr, f.etcdPeerAddr)
	if err != nil {
		return err
	}
	defer etcd.Close()
	ns, err := startNATS(filepath.Join(f.dataDir, "nats"), f.natsAddr)
	if err != nil {
		return err
	}
	defer func() {
		ns.Shutdown()
		ns.WaitForShutdown()
	}()
	natsURL := ns.ClientURL()

	// Until everything has started, a failure closes what has: undo runs in
	// reverse. Once running, each part closes itself when its Run returns.
	var undo []func()
	defer func() {
		if err != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
		}
	}()
	// Bind the public ports first: a port in use fails before anything
	// starts, and random ports (":0") are known before they are needed.
	adminLn, err := listen("admin-addr", f.adminAddr)
	if err != nil {
		return err
	}
	undo = append(undo, func() { _ = adminLn.Close() })
	edgeLn, err := listen("edge-addr", f.edgeAddr)
	if err != nil {
		return err
	}
	undo = append(undo, func() { _ = edgeLn.Close() })
	publicURL := f.publicURL
	if publicURL == "" {
		publicURL = "http://" + edgeLn.Addr().String()
	}

	reg := newRegistry()
	tokenFile := filepath.Join(f.dataDir, "admin-token")
	cp, err := startControlPlane(ctx, controlPlaneConfig{
		listener:           adminLn,
		etcdEndpoints:      []string{etcdURL},
		etcdDialTimeout:    5 * time.Second,
		natsURL:            natsURL,
		bootstrapTokenFile: tokenFile,
		keyringFile:        filepath.Join(f.dataDir, "keyring.json"),
		createKeyring:      true,
		publicURL:          publicURL,
		keySweepInterval:   time.Minute,
		configSendTimeout:  30 * time.Second,
	}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, cp.close)
	defaults := streams.DefaultConfig()
	dataNATS := natsFlags{url: natsURL, ensureStreams: true, replicas: defaults.Replicas, storage: "file",
		maxAge: defaults.MaxAge, duplicates: defaults.Duplicates}
	edge, err := startEdge(ctx, edgeConfig{
		listener:        edgeLn,
		nodeID:          "dev-edge",
		publishTimeout:  5 * time.Second,
		controlPlaneURL: cp.admin.URL(),
		nats:            dataNATS,
	}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, edge.close)
	disp, err := startDispatcher(ctx, dispatcherConfig{nodeID: "dev-dispatcher", controlPlaneURL: cp.admin.URL(), nats: dataNATS}, log, reg)
	if err != nil {
		return err
	}
	undo = append(undo, disp.close)
	ops, err := listenHTTP("dev ops", "ops-addr", f.opsAddr, healthMux(nil, append(edge.checks, disp.checks...), reg), adminLimits, log)
	if err != nil {
		return err
	}

	undo = nil // the parts' Run now own their cleanup
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return cp.Run(gctx) })
	g.Go(func() error { return edge.Run(gctx) })
	g.Go(func() error { return disp.Run(gctx) })
	g.Go(func() error { return ops.Run(gctx) })

	// "ready" means what /readyz means: the edge and the dispatcher hold
	// their first configuration from the control plane.
	if waitConfigured(gctx, edge.table, disp.table) {
		fmt.Fprintf(out, `Hookgate dev is running (data in %s)
  admin API    %s   (gRPC, gRPC-Web, Connect JSON; /readyz, /metrics)
  edge         %s   (POST /in/{tenant}/{webhook_id}; /readyz)
  ops          %s   (edge and dispatcher /readyz, /metrics)
  etcd         %s
  NATS         %s
  admin token  %s   (saved in %s)
ready
`, f.dataDir, cp.admin.URL(), edge.ingress.URL(), ops.URL(), etcdURL, natsURL, cp.token, tokenFile)
	}
	err = g.Wait()
	log.Info("hookgate dev stopped")
	return err
}

// waitConfigured waits until every table holds a configuration; false when
// ctx ended first.
func waitConfigured(ctx context.Context, tables ...*configsync.Table) bool {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		ok := true
		for _, tb := range tables {
			ok = ok && tb.Status().HaveConfig
		}
		if ok {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
		}
	}
}

// prepareDataDir makes sure dir is a folder this process can write.
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("flag --data-dir %q: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".probe-*")
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return fmt.Errorf("flag --data-dir %q: not writable: %w", dir, err)
	}
	name := probe.Name()
	_ = probe.Close()
	return os.Remove(name)
}
