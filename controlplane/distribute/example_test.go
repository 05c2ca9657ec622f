package distribute_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/distribute"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/gen/hookgate/v1/hookgatev1connect"
	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// How a control-plane replica serves config distribution: mount both
// handlers, wrap the mux so mTLS nodes are recognised (their certificates
// name the role in the Subject OU) and a node that stops reading is cut off
// after SendTimeout, and run the watch.
func ExampleNew() {
	ctx := context.Background()
	etcd, _ := clientv3.New(clientv3.Config{Endpoints: []string{"http://127.0.0.1:2379"}})
	keyring, _ := secrets.LoadOrCreateKeyring(".hookgate/keyring.json")
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))

	// One token per role: an edge's token cannot ask for the dispatcher
	// role. New refuses a Config without any node credential.
	d, err := distribute.New(distribute.Config{
		ReplicaID:       "cp-1",
		EdgeToken:       os.Getenv("HOOKGATE_EDGE_TOKEN"),
		DispatcherToken: os.Getenv("HOOKGATE_DISPATCHER_TOKEN"),
	}, etcd, keyring, log, prometheus.NewRegistry(), systemClock{})
	if err != nil {
		log.Error("config distribution", "err", err)
		return
	}
	mux := http.NewServeMux()
	mux.Handle(hookgatev1connect.NewConfigDiscoveryServiceHandler(d, connect.WithReadMaxBytes(1<<20)))
	mux.Handle(hookgatev1connect.NewEdgeServiceHandler(d)) // behind admin authentication
	srv := &http.Server{Addr: "127.0.0.1:8070", Handler: distribute.WithSendDeadlines(distribute.WithVerifiedClientCert(mux))}
	go func() { _ = srv.ListenAndServe() }()
	_ = d.Run(ctx) // until ctx ends
}
