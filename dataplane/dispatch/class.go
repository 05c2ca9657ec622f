package dispatch

// ErrorClass names why an attempt failed without an HTTP status; it is
// the attempt record's error class and a metric label, so it never carries
// a value.
type ErrorClass string

// Error classes of failed attempts.
const (
	// ClassHTTPStatus: the endpoint answered with a status outside 2xx.
	ClassHTTPStatus ErrorClass = "http_status"
	// ClassTimeout: no answer within the endpoint's timeout.
	ClassTimeout ErrorClass = "timeout"
	// ClassRefused: the connection was refused.
	ClassRefused ErrorClass = "connection_refused"
	// ClassReset: the connection was reset or closed before an answer.
	ClassReset ErrorClass = "connection_reset"
	// ClassDNS: the endpoint's name did not resolve.
	ClassDNS ErrorClass = "dns"
	// ClassTLS: the TLS handshake or certificate check failed.
	ClassTLS ErrorClass = "tls"
	// ClassBlockedAddress: the address policy refused the resolved address.
	ClassBlockedAddress ErrorClass = "blocked_address"
	// ClassConnection: any other network failure.
	ClassConnection ErrorClass = "connection"
	// ClassCancelled: the dispatcher itself stopped the attempt (shutdown);
	// it says nothing about the endpoint and is made again.
	ClassCancelled ErrorClass = "cancelled"
	// ClassInvalidRequest: the request could not be built (a bad URL); a
	// configuration fault that retrying will not cure.
	ClassInvalidRequest ErrorClass = "invalid_request"
)
