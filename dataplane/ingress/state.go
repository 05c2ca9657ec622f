package ingress

import (
	"math"
	"slices"
	"strings"
	"sync"

	"github.com/hookgate/hookgate/dataplane/configsync"
	"github.com/hookgate/hookgate/dataplane/envelope"
	"github.com/hookgate/hookgate/dataplane/streams"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"golang.org/x/time/rate"
)

// hook is what the edge derives from one webhook: parsed correlation
// paths, subjects, and the rate limiters that must survive configuration
// updates of the same webhook. What calls read of the webhook itself
// (active, limits, key digests) stays in the table's compact form, src,
// which the hook shares rather than copies.
type hook struct {
	src      *configsync.Webhook
	provider string
	bindings []binding
	limiter  *rate.Limiter // nil without a rate limit
	// failures samples failed-trigger records so a flood cannot fill the
	// store; it lives as long as the webhook.
	failures *rate.Limiter
	// secretHeaders never enter the envelope; redact are redacted in
	// failed triggers beyond the names that say they carry credentials.
	secretHeaders []string
	redact        []string
	// sig is the provider's signature scheme and secrets.
	sig signature
}

type binding struct {
	processID string
	threadID  string
	trigger   string
	subject   string
	resume    bool
	path      envelope.CorrelationPath
	// dedupSuffix makes a provider delivery id unique per binding.
	dedupSuffix string
}

// hooks caches derived state by tenant and id. Lookups take a read lock
// and do not allocate (the key is a struct of the two strings, not a
// concatenation); a configuration update of a webhook rebuilds its entry on
// first use.
type hooks struct {
	mu sync.RWMutex
	m  map[hookKey]*hook
}

type hookKey struct{ tenant, id string }

func (hs *hooks) get(tenant, id string, w *configsync.Webhook) *hook {
	k := hookKey{tenant, id}
	hs.mu.RLock()
	h := hs.m[k]
	hs.mu.RUnlock()
	if h != nil && h.src == w {
		return h
	}
	hs.mu.Lock()
	defer hs.mu.Unlock()
	old := hs.m[k]
	if old != nil && old.src == w {
		return old // another call rebuilt it meanwhile
	}
	nh := newHook(w, old)
	if hs.m == nil {
		hs.m = make(map[hookKey]*hook)
	}
	hs.m[k] = nh
	return nh
}

// forget drops the state of one webhook.
func (hs *hooks) forget(tenant, id string) {
	hs.mu.Lock()
	delete(hs.m, hookKey{tenant, id})
	hs.mu.Unlock()
}

// prune drops the state of every webhook keep refuses. keep runs without
// the lock held.
func (hs *hooks) prune(keep func(tenant, id string) bool) {
	hs.mu.RLock()
	keys := make([]hookKey, 0, len(hs.m))
	for k := range hs.m {
		keys = append(keys, k)
	}
	hs.mu.RUnlock()
	for _, k := range keys {
		if !keep(k.tenant, k.id) {
			hs.mu.Lock()
			delete(hs.m, k)
			hs.mu.Unlock()
		}
	}
}

// newHook derives a hook from the webhook's message form, made once per
// webhook revision (the table keeps none).
func newHook(src *configsync.Webhook, old *hook) *hook {
	w := src.Proto()
	h := &hook{src: src, provider: providerName(w.GetProvider()), sig: newSignature(w)}
	h.secretHeaders = secretHeaders[w.GetProvider()]
	h.redact = h.secretHeaders
	if c := w.GetCustomHmac(); c != nil {
		h.redact = append(slices.Clip(h.redact), customHMACHeaders(c)...)
	}
	for _, b := range w.GetBindings() {
		nb := binding{processID: b.GetProcessId(), threadID: b.GetThreadId()}
		nb.resume = b.GetTrigger() == hookgatev1.Trigger_TRIGGER_RESUME_PROCESS
		if nb.resume {
			nb.trigger = "RESUME_PROCESS"
			// The control plane checked the syntax; a path the edge cannot
			// parse leaves the zero path, which resolves nothing, so such
			// calls are rejected rather than published without a key.
			nb.path, _ = envelope.ParseCorrelationPath(b.GetCorrelationPath())
		} else {
			nb.trigger = "START_PROCESS"
		}
		if nb.threadID == "" {
			nb.threadID = "main"
		}
		nb.subject = streams.InboundSubject(w.GetTenant(), nb.processID, nb.resume)
		nb.dedupSuffix = ":" + nb.processID + ":" + nb.threadID + ":" + nb.trigger
		h.bindings = append(h.bindings, nb)
	}
	if rl := w.GetRateLimit(); rl != nil && rl.GetRequestsPerSecond() > 0 {
		// The control plane bounds these values; the edge stays safe with
		// any: the burst is kept within [1, maxBurst] (a float beyond int
		// would convert to garbage).
		burst := int(rl.GetBurst())
		if burst <= 0 {
			burst = int(math.Min(math.Ceil(rl.GetRequestsPerSecond()), maxBurst))
		}
		burst = min(max(burst, 1), maxBurst)
		if old != nil && old.limiter != nil && old.limiter.Limit() == rate.Limit(rl.GetRequestsPerSecond()) && old.limiter.Burst() == burst {
			h.limiter = old.limiter
		} else {
			h.limiter = rate.NewLimiter(rate.Limit(rl.GetRequestsPerSecond()), burst)
		}
	}
	if old != nil {
		h.failures = old.failures
	} else {
		h.failures = rate.NewLimiter(failureRecordRate, failureRecordBurst)
	}
	return h
}

// maxBurst bounds a rate limit's burst.
const maxBurst = 1 << 20

// Failed-trigger sampling per webhook: a burst of 20, then one a second.
const (
	failureRecordRate  = rate.Limit(1)
	failureRecordBurst = 20
)

func providerName(p hookgatev1.Provider) string {
	return strings.TrimPrefix(p.String(), "PROVIDER_")
}
