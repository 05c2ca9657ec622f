// Package distribute streams configuration from the control plane to
// data-plane nodes (DESIGN.md, "Config distribution").
//
// One etcd watch per control-plane replica feeds a materialised view: per
// node role, the resources that role may see, at an etcd revision, plus a
// bounded in-memory log of recent changes. Each node's stream starts with a
// snapshot, or with only the changes since the revision the node already
// holds (from the log, or from etcd's history when the log does not reach
// back that far; a snapshot when etcd compacted it), and then follows the
// view one update at a time: the next update is sent when the node has
// acknowledged (ACK) or rejected (NACK) the previous one, coalescing
// whatever changed meanwhile, so a slow node never slows the watch or other
// nodes. A connected node that falls out of the log is resynced with a
// snapshot. Every update names the etcd cluster its revision belongs to; a
// node holding a revision of another cluster (a wiped and replaced etcd)
// gets a snapshot, never deltas. A role's snapshot is encoded once and
// shared by every stream until the role's resources change. A node that
// stops reading has its stream ended after Config.SendTimeout (with
// WithSendDeadlines in front of the handler).
//
// Every stream needs a node credential, checked before its first message is
// decoded: a token per role (Config.EdgeToken, Config.DispatcherToken), the
// weaker shared Config.NodeToken, or a verified client certificate naming
// its role in its Subject OU (WithVerifiedClientCert). A credential that
// names a role may only ask for that role. A replica whose view has not
// loaded within Config.ReadyTimeout answers Unavailable, so the node tries
// another.
//
// Edges receive inbound webhooks with key digests and decrypted provider
// secrets; dispatchers never do. Connected nodes are recorded in etcd under
// /hookgate/nodes/{node_id}, attached to the replica's lease, so every replica
// can list the whole fleet.
//
// distribute never writes below /hookgate/webhooks/ and never imports
// data-plane code.
package distribute
