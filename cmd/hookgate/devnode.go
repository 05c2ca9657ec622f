package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hookgate/hookgate/cmd/hookgate/app/embedded"
	"github.com/spf13/cobra"
)

// newDevNodeCommand runs one embedded etcd member or NATS node as its own
// process, so a cluster on one machine can lose a member to SIGKILL (the
// fault suite does) while the rest keep running. Production runs real
// etcd and NATS clusters.
func newDevNodeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "devnode",
		Short: "Run one etcd member or NATS node on this machine (clusters for trying Hookgate and for fault tests)",
	}
	cmd.AddCommand(newDevNodeEtcdCommand(), newDevNodeNATSCommand())
	return cmd
}

func newDevNodeEtcdCommand() *cobra.Command {
	var (
		m    embedded.EtcdMember
		logs logFlags
	)
	cmd := &cobra.Command{
		Use:   "etcd",
		Short: "Run one etcd member; prints its client URL and \"ready\" once the cluster has a leader",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			if m.Name == "" || m.Dir == "" || m.ClientAddr == "" || m.PeerAddr == "" {
				return fmt.Errorf("flags --name, --data-dir, --client-addr and --peer-addr: required")
			}
			m.Log = log
			e, url, err := m.Start(2 * time.Minute)
			if err != nil {
				return err
			}
			defer e.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "etcd %s %s\nready\n", m.Name, url)
			return waitSignal(cmd, e.Err())
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&m.Name, "name", "", "member name, as in --initial-cluster")
	fs.StringVar(&m.Dir, "data-dir", "", "the member's data folder; a restart on it rejoins the cluster")
	fs.StringVar(&m.ClientAddr, "client-addr", "", "client host:port")
	fs.StringVar(&m.PeerAddr, "peer-addr", "", "peer host:port")
	fs.StringVar(&m.InitialCluster, "initial-cluster", "", "every member as name=http://peer-addr, comma separated (default: this member alone)")
	fs.StringVar(&m.ClusterToken, "cluster-token", "hookgate-devnode", "initial cluster token (only read when the data folder is new)")
	logs.register(fs, "text")
	return cmd
}

func newDevNodeNATSCommand() *cobra.Command {
	var (
		n            embedded.NATSNode
		routes       string
		passwordFile string
		syncFlag     string
		logs         logFlags
	)
	cmd := &cobra.Command{
		Use:   "nats",
		Short: "Run one NATS JetStream node; prints its client URL and \"ready\" once it accepts connections",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := logs.logger()
			if err != nil {
				return err
			}
			if n.Name == "" || n.Dir == "" || n.Addr == "" || n.NkeyUser == "" {
				return fmt.Errorf("flags --name, --data-dir, --addr and --nkey-user: required")
			}
			if n.Sync, err = embedded.ParseSync(syncFlag); err != nil {
				return err
			}
			if n.ClusterAddr != "" {
				if passwordFile == "" {
					return fmt.Errorf("flag --route-password-file: required with --cluster-addr (routes carry every replicated message)")
				}
				b, err := os.ReadFile(passwordFile)
				if err != nil {
					return fmt.Errorf("flag --route-password-file: %w", err)
				}
				n.RouteUser, n.RoutePassword = "hookgate", strings.TrimSpace(string(b))
				for r := range strings.SplitSeq(routes, ",") {
					if r = strings.TrimSpace(r); r != "" {
						n.Routes = append(n.Routes, r)
					}
				}
			}
			n.Log = log
			s, err := n.Start(30 * time.Second)
			if err != nil {
				return err
			}
			defer func() {
				s.Shutdown()
				s.WaitForShutdown()
			}()
			fmt.Fprintf(cmd.OutOrStdout(), "nats %s %s\nready\n", n.Name, s.ClientURL())
			return waitSignal(cmd, nil)
		},
	}
	fs := cmd.Flags()
	fs.StringVar(&n.Name, "name", "", "server name (distinct within a cluster)")
	fs.StringVar(&n.Dir, "data-dir", "", "JetStream store folder")
	fs.StringVar(&n.Addr, "addr", "", "client host:port")
	fs.StringVar(&n.NkeyUser, "nkey-user", "", "public nkey (U…) of the one user admitted")
	fs.StringVar(&n.ClusterAddr, "cluster-addr", "", "route host:port; set to run as a cluster node")
	fs.StringVar(&routes, "routes", "", "the other nodes' route host:ports, comma separated")
	fs.StringVar(&passwordFile, "route-password-file", "", "file holding the routes' shared password")
	fs.StringVar(&syncFlag, "nats-sync", "default", "how often JetStream fsyncs: default (2m), always, or a duration")
	logs.register(fs, "text")
	return cmd
}

// waitSignal runs until SIGINT or SIGTERM (main cancels the command's
// context) or until failed reports.
func waitSignal(cmd *cobra.Command, failed <-chan error) error {
	select {
	case <-cmd.Context().Done():
		return nil
	case err := <-failed:
		return err
	}
}
