// Package dispatch is the dispatchers' delivery engine: it consumes
// outbound messages from JetStream, fans them out to subscribed endpoints,
// signs (Standard Webhooks) and delivers them through an SSRF-safe dialer,
// retries on schedule, keeps per-endpoint limits shared by every replica,
// and records attempts and delivery states. It never reads etcd; its
// configuration arrives through the Endpoints interface.
package dispatch
