package configsync

import (
	"crypto/sha256"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
	"unique"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Webhook is how a Table holds an EdgeWebhook: the fields the edge reads on
// every call inline, key digests as fixed arrays, repeated strings (tenant,
// secret names) interned, and what calls never read (bindings, rate limit,
// custom HMAC) as one encoded value shared by every webhook that has the
// same. The protobuf message it came from is not kept. EdgeWebhook.url is
// dropped: the edge never uses it.
//
// A Webhook never changes once made; callers must not modify what its
// methods return. Its getters are named as the EdgeWebhook's, and are safe
// on a nil *Webhook, as those are.
type Webhook struct {
	id           string
	tenant       unique.Handle[string]
	provider     hookgatev1.Provider
	flags        webhookFlags
	maxBodyBytes int64
	keys         []KeyDigest
	secrets      []providerSecret
	// rest is the deterministic encoding of an EdgeWebhook holding only
	// bindings, rate_limit, custom_hmac and unknown fields; "" for none.
	rest unique.Handle[string]
}

type webhookFlags uint8

const (
	flagActive webhookFlags = 1 << iota
	flagRawBody
	flagRequireKey
)

// KeyDigest is the SHA-256 digest of one API key of a webhook.
type KeyDigest struct {
	SHA256 [sha256.Size]byte
	// expire is when a rotated key stops verifying, in Unix nanoseconds;
	// 0 for a key that does not expire.
	expire int64
}

// Expired reports whether the key no longer verifies at now.
func (k *KeyDigest) Expired(now time.Time) bool {
	return k.expire != 0 && now.UnixNano() >= k.expire
}

// providerSecret is one provider secret by name: the current value and a
// previous one in its grace period.
type providerSecret struct {
	name           unique.Handle[string]
	value          string
	previous       string
	previousExpire int64 // Unix ns; 0 when there is no previous value
	hasValue       bool
}

// unixNanos turns an expiry into Unix nanoseconds that are never 0 (0 means
// none), clamped to what int64 holds: a time at or before the epoch stays in
// the past, one past 2262 in the future.
func unixNanos(ts *timestamppb.Timestamp) int64 {
	t := ts.AsTime()
	switch {
	case t.Unix() >= math.MaxInt64/int64(time.Second):
		return math.MaxInt64
	case t.UnixNano() <= 0 || t.Unix() < 0:
		return 1
	}
	return t.UnixNano()
}

func fromUnixNanos(n int64) *timestamppb.Timestamp {
	return timestamppb.New(time.Unix(0, n))
}

// NewWebhook makes the compact form of w, for callers that hold a
// configuration outside a Table (tests, benchmarks). It refuses what a
// Table refuses.
func NewWebhook(w *hookgatev1.EdgeWebhook) (*Webhook, error) {
	var c compactor
	return c.webhook(w)
}

// compactor makes the Webhooks of one update. It reuses the previous
// webhook's interned tenant and shared encoding when they repeat, as they
// do in runs (a snapshot comes sorted by key, so by tenant), sparing their
// interning, and encodes into one buffer.
type compactor struct {
	tenant, rest unique.Handle[string]
	have         bool // tenant and rest are set
	buf          []byte
}

// webhook validates w and makes its Webhook. Errors never carry a digest
// or secret.
func (c *compactor) webhook(w *hookgatev1.EdgeWebhook) (*Webhook, error) {
	for i, k := range w.GetKeys() {
		if n := len(k.GetSha256()); n != sha256.Size {
			return nil, fmt.Errorf("key %d: digest of %d bytes, want %d (SHA-256)", i, n, sha256.Size)
		}
	}
	enc, err := c.encode(w)
	if err != nil {
		return nil, err
	}
	if !c.have || string(enc) != c.rest.Value() {
		c.rest = unique.Make(string(enc))
	}
	if !c.have || w.GetTenant() != c.tenant.Value() {
		c.tenant = unique.Make(w.GetTenant())
	}
	c.have = true
	return compact(w, c.tenant, c.rest), nil
}

// encode returns the encoding of the fields a Webhook keeps encoded, in
// c's buffer.
func (c *compactor) encode(w *hookgatev1.EdgeWebhook) ([]byte, error) {
	if w.GetRateLimit() == nil && w.GetCustomHmac() == nil && len(w.ProtoReflect().GetUnknown()) == 0 {
		if b, ok := appendBindings(c.buf[:0], w.GetBindings()); ok {
			c.buf = b
			return b, nil
		}
	}
	rest := &hookgatev1.EdgeWebhook{Bindings: w.GetBindings(), RateLimit: w.GetRateLimit(), CustomHmac: w.GetCustomHmac()}
	if u := w.ProtoReflect().GetUnknown(); len(u) > 0 {
		rest.ProtoReflect().SetUnknown(u)
	}
	b, err := proto.MarshalOptions{Deterministic: true}.MarshalAppend(c.buf[:0], rest)
	if err != nil {
		return nil, fmt.Errorf("encode bindings: %w", err)
	}
	c.buf = b
	return b, nil
}

// appendBindings appends the encoding proto.Marshal gives an EdgeWebhook
// holding only bindings, several times faster (a snapshot encodes one per
// webhook). It declines, for proto.Marshal to do it, a binding that is nil,
// has unknown fields or a string that is not UTF-8.
func appendBindings(b []byte, bindings []*hookgatev1.Binding) ([]byte, bool) {
	const bindingsField = 6 // EdgeWebhook.bindings
	for _, x := range bindings {
		if x == nil || len(x.ProtoReflect().GetUnknown()) > 0 ||
			!utf8.ValidString(x.GetProcessId()) || !utf8.ValidString(x.GetThreadId()) || !utf8.ValidString(x.GetCorrelationPath()) {
			return nil, false
		}
		size := 0
		for _, s := range []string{x.GetProcessId(), x.GetThreadId(), x.GetCorrelationPath()} {
			if s != "" {
				size += protowire.SizeTag(1) + protowire.SizeBytes(len(s))
			}
		}
		if t := x.GetTrigger(); t != 0 {
			size += protowire.SizeTag(3) + protowire.SizeVarint(uint64(t))
		}
		b = protowire.AppendTag(b, bindingsField, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(size))
		b = appendString(b, 1, x.GetProcessId())
		b = appendString(b, 2, x.GetThreadId())
		if t := x.GetTrigger(); t != 0 {
			b = protowire.AppendTag(b, 3, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(t))
		}
		b = appendString(b, 4, x.GetCorrelationPath())
	}
	return b, true
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

// compact makes the Webhook of w, a valid webhook whose tenant and
// encoded fields (compactor.encode) are interned as tenant and rest.
func compact(w *hookgatev1.EdgeWebhook, tenant, rest unique.Handle[string]) *Webhook {
	c := &Webhook{
		id:           w.GetId(),
		tenant:       tenant,
		provider:     w.GetProvider(),
		maxBodyBytes: w.GetMaxBodyBytes(),
		rest:         rest,
	}
	if w.GetActive() {
		c.flags |= flagActive
	}
	if w.GetRawBody() {
		c.flags |= flagRawBody
	}
	if w.RequireKey == nil || w.GetRequireKey() {
		c.flags |= flagRequireKey
	}
	if n := len(w.GetKeys()); n > 0 {
		c.keys = make([]KeyDigest, n)
		for i, k := range w.GetKeys() {
			copy(c.keys[i].SHA256[:], k.GetSha256())
			if k.GetExpireTime() != nil {
				c.keys[i].expire = unixNanos(k.GetExpireTime())
			}
		}
	}
	if n := len(w.GetProviderSecrets()) + len(w.GetPreviousProviderSecrets()); n > 0 {
		c.secrets = make([]providerSecret, 0, n)
		for name, v := range w.GetProviderSecrets() {
			c.secrets = append(c.secrets, providerSecret{name: unique.Make(name), value: v, hasValue: true})
		}
		for name, p := range w.GetPreviousProviderSecrets() {
			i := slices.IndexFunc(c.secrets, func(s providerSecret) bool { return s.name.Value() == name })
			if i < 0 {
				c.secrets = append(c.secrets, providerSecret{name: unique.Make(name)})
				i = len(c.secrets) - 1
			}
			c.secrets[i].previous, c.secrets[i].previousExpire = p.GetValue(), unixNanos(p.GetExpireTime())
			if p.GetExpireTime() == nil {
				// No expiry is a value that has already expired: the
				// edge must not let it verify for ever.
				c.secrets[i].previousExpire = 1
			}
		}
		slices.SortFunc(c.secrets, func(a, b providerSecret) int { return strings.Compare(a.name.Value(), b.name.Value()) })
		c.secrets = slices.Clip(c.secrets)
	}
	return c
}

// String names the webhook; its provider secrets and key digests are never
// printed.
func (w *Webhook) String() string {
	if w == nil {
		return "webhook <nil>"
	}
	return "webhook " + w.GetTenant() + "/" + w.id + " (secrets REDACTED)"
}

// Format prints String for every verb, so %v, %+v and %#v cannot show a
// secret.
func (w *Webhook) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, w.String()) }

// LogValue logs String.
func (w *Webhook) LogValue() slog.Value { return slog.StringValue(w.String()) }

// String never prints the digest.
func (k KeyDigest) String() string { return "key digest REDACTED" }

// Format prints String for every verb.
func (k KeyDigest) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, k.String()) }

// LogValue logs String.
func (k KeyDigest) LogValue() slog.Value { return slog.StringValue(k.String()) }

// GetTenant returns the webhook's tenant.
func (w *Webhook) GetTenant() string {
	if w == nil {
		return ""
	}
	return w.tenant.Value()
}

// GetId returns the webhook's id (named as EdgeWebhook's getter).
func (w *Webhook) GetId() string {
	if w == nil {
		return ""
	}
	return w.id
}

// GetActive reports whether the webhook accepts calls.
func (w *Webhook) GetActive() bool { return w != nil && w.flags&flagActive != 0 }

// GetRawBody reports whether envelopes carry the exact body bytes.
func (w *Webhook) GetRawBody() bool { return w != nil && w.flags&flagRawBody != 0 }

// GetRequireKey reports whether calls need the API key; an EdgeWebhook
// without require_key reads as true.
func (w *Webhook) GetRequireKey() bool { return w != nil && w.flags&flagRequireKey != 0 }

// GetProvider returns the webhook's provider.
func (w *Webhook) GetProvider() hookgatev1.Provider {
	if w == nil {
		return hookgatev1.Provider_PROVIDER_UNSPECIFIED
	}
	return w.provider
}

// GetMaxBodyBytes returns the webhook's body limit; 0 for the default.
func (w *Webhook) GetMaxBodyBytes() int64 {
	if w == nil {
		return 0
	}
	return w.maxBodyBytes
}

// Keys returns the digests of the webhook's API keys, current first.
func (w *Webhook) Keys() []KeyDigest {
	if w == nil {
		return nil
	}
	return w.keys
}

// SharedKey is the webhook's bindings, rate limit and custom HMAC as one
// interned string: equal for webhooks that have the same, so what is
// derived from those alone can be shared. It does not allocate.
func (w *Webhook) SharedKey() string {
	if w == nil {
		return ""
	}
	return w.rest.Value()
}

// Proto returns the webhook as an EdgeWebhook (without url), a new
// message the caller owns. It allocates: the edge calls it once per
// webhook revision, to derive what it serves with, never per request.
func (w *Webhook) Proto() *hookgatev1.EdgeWebhook {
	if w == nil {
		return nil
	}
	p := &hookgatev1.EdgeWebhook{}
	if rest := w.rest.Value(); rest != "" {
		// rest was encoded by compactor.encode, so it decodes.
		_ = proto.Unmarshal([]byte(rest), p)
	}
	p.Tenant, p.Id, p.Provider, p.MaxBodyBytes = w.GetTenant(), w.id, w.provider, w.maxBodyBytes
	p.Active, p.RawBody, p.RequireKey = w.GetActive(), w.GetRawBody(), proto.Bool(w.GetRequireKey())
	for _, k := range w.keys {
		d := &hookgatev1.KeyDigest{Sha256: slices.Clone(k.SHA256[:])}
		if k.expire != 0 {
			d.ExpireTime = fromUnixNanos(k.expire)
		}
		p.Keys = append(p.Keys, d)
	}
	for _, s := range w.secrets {
		name := s.name.Value()
		if s.hasValue {
			if p.ProviderSecrets == nil {
				p.ProviderSecrets = make(map[string]string, len(w.secrets))
			}
			p.ProviderSecrets[name] = s.value
		}
		if s.previousExpire != 0 {
			if p.PreviousProviderSecrets == nil {
				p.PreviousProviderSecrets = make(map[string]*hookgatev1.PreviousSecret)
			}
			p.PreviousProviderSecrets[name] = &hookgatev1.PreviousSecret{Value: s.previous, ExpireTime: fromUnixNanos(s.previousExpire)}
		}
	}
	return p
}
