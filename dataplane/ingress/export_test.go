package ingress

// PendingPublishes is how many publishes of e await an acknowledgement.
func PendingPublishes(e *Edge) int { return e.js.PublishAsyncPending() }
