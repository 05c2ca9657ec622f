// Package configsync is a data-plane node's side of config distribution
// (DESIGN.md, "Config distribution"): a Client that holds one stream to the
// control plane, applies its snapshot and deltas to a Table, ACKs or NACKs
// each revision and reconnects with backoff forever, moving to the next
// configured replica after every session that ends (one that sends nothing
// within Config.FirstResponseTimeout is abandoned); and the Table, an
// immutable Snapshot swapped atomically, that request handling reads
// without taking any lock an update holds.
//
// With the control plane away the node keeps serving its last configuration
// (static stability); an optional on-disk snapshot lets it start that way.
// configsync never imports etcd or control-plane code: configuration
// reaches the data plane only through this stream.
package configsync
