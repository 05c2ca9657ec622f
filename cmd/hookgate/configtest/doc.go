// Package configtest holds only tests: config distribution end to end, with
// real etcd, the control plane's distribute package served over HTTP/2 and
// data-plane configsync clients in the same process, and the
// config-distribution benchmark (make bench-config):
//
//	go test -run='^$' -bench=Config -benchtime=1x ./cmd/hookgate/configtest/
//
// It lives in cmd/hookgate, the one module allowed to import both planes.
package configtest
