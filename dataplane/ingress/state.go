package ingress

import (
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

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
	// bindings may be shared with other hooks (hooks.share): read only.
	bindings []binding
	limiter  *rate.Limiter // nil without a rate limit
	// failures samples failed-trigger records so a flood cannot fill the
	// store; it lives as long as the webhook.
	failures *failureSampler
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
	// bindings holds the derived bindings (subjects, parsed paths) of the
	// hooks in m by tenant and the webhook's shared key, counting the hooks
	// that use each, so webhooks with equal bindings hold one slice.
	bindings map[bindingsKey]*sharedBindings
}

type hookKey struct{ tenant, id string }

type bindingsKey struct{ tenant, shared string }

type sharedBindings struct {
	list []binding
	refs int
}

func keyOfBindings(h *hook) bindingsKey {
	return bindingsKey{h.src.GetTenant(), h.src.SharedKey()}
}

// share returns the bindings equal to h's that hooks already hold, or
// records h's; mu is held for writing.
func (hs *hooks) share(h *hook) []binding {
	k := keyOfBindings(h)
	if s := hs.bindings[k]; s != nil {
		s.refs++
		return s.list
	}
	if hs.bindings == nil {
		hs.bindings = make(map[bindingsKey]*sharedBindings)
	}
	hs.bindings[k] = &sharedBindings{list: h.bindings, refs: 1}
	return h.bindings
}

// release undoes share for a hook that leaves m; mu is held for writing.
func (hs *hooks) release(h *hook) {
	k := keyOfBindings(h)
	if s := hs.bindings[k]; s != nil {
		if s.refs--; s.refs <= 0 {
			delete(hs.bindings, k)
		}
	}
}

// remove drops the hook of k; mu is held for writing.
func (hs *hooks) remove(k hookKey) {
	if h := hs.m[k]; h != nil {
		hs.release(h)
		delete(hs.m, k)
	}
}

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
	nh.bindings = hs.share(nh)
	if old != nil {
		hs.release(old)
	}
	if hs.m == nil {
		hs.m = make(map[hookKey]*hook)
	}
	hs.m[k] = nh
	return nh
}

// forget drops the state of one webhook.
func (hs *hooks) forget(tenant, id string) {
	hs.mu.Lock()
	hs.remove(hookKey{tenant, id})
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
			hs.remove(k)
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
		h.failures = &failureSampler{}
	}
	return h
}

// failureSampler is a webhook's failed-trigger sampling limiter, made at
// the first failure: most webhooks never fail, and a limiter is ten times
// the size of the pointer to it.
type failureSampler struct{ l atomic.Pointer[rate.Limiter] }

// AllowN reports whether n failed triggers may be recorded at now.
func (f *failureSampler) AllowN(now time.Time, n int) bool {
	l := f.l.Load()
	if l == nil {
		l = rate.NewLimiter(failureRecordRate, failureRecordBurst)
		if !f.l.CompareAndSwap(nil, l) {
			l = f.l.Load()
		}
	}
	return l.AllowN(now, n)
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
