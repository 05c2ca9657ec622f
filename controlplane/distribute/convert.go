package distribute

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// Roles are indexes into the view's per-role arrays. Outbound resources for
// dispatchers slot in beside the edge's webhooks.
const (
	roleEdge = iota
	roleDispatcher
	numRoles
)

func roleIndex(r hookgatev1.NodeRole) int {
	switch r {
	case hookgatev1.NodeRole_NODE_ROLE_EDGE:
		return roleEdge
	case hookgatev1.NodeRole_NODE_ROLE_DISPATCHER:
		return roleDispatcher
	}
	return -1
}

// roleLabels are the metric labels of the role indexes.
var roleLabels = [numRoles]string{roleEdge: "edge", roleDispatcher: "dispatcher"}

// WebhookResourceKey is the ConfigResource key of an inbound webhook.
func WebhookResourceKey(tenant, id string) string { return "webhook/" + tenant + "/" + id }

// record is one etcd key's change, projected onto the roles.
type record struct {
	etcdKey string
	modRev  int64
	deleted bool
	// keys names, per role, the resource the etcd key becomes; "" means the
	// role never sees it (least privilege).
	keys [numRoles]string
	// res holds the new resource per role for a put.
	res [numRoles]*hookgatev1.ConfigResource
	// wire holds res encoded as upserts elements (upsertWire), when
	// encoded ahead: a first load encodes its records on every CPU.
	wire [numRoles][]byte
	// err is set when a put could not be converted; the view then keeps the
	// last good resource.
	err error
}

// errNotDistributed marks an etcd key below a watched prefix that is no
// resource (a malformed key); it is ignored.
var errNotDistributed = errors.New("not a distributed record")

// project turns an etcd key and value (nil for a delete) into what each role
// receives. A webhook that refers to config parameters fails to convert
// here: the watch resolves those through a resolver (params.go).
func project(keyring *secrets.Keyring, etcdKey string, value []byte, modRev int64, deleted bool) record {
	return projectWith(keyring, nil, etcdKey, value, modRev, deleted)
}

func projectWith(keyring *secrets.Keyring, params paramLookup, etcdKey string, value []byte, modRev int64, deleted bool) record {
	if r, ok := projectOutbound(keyring, etcdKey, value, modRev, deleted); ok {
		return r
	}
	r := record{etcdKey: etcdKey, modRev: modRev, deleted: deleted, keys: projectKeys(etcdKey)}
	tenant, id, ok := parseWebhookKey(etcdKey)
	if !ok {
		r.err = errNotDistributed
		return r
	}
	if deleted {
		return r
	}
	var rec storagev1.WebhookRecord
	if err := proto.Unmarshal(value, &rec); err != nil {
		r.err = fmt.Errorf("decode webhook record: %w", err)
		return r
	}
	return projectRecord(keyring, params, r, tenant, id, &rec)
}

// projectRecord converts a decoded webhook record into r's resources.
func projectRecord(keyring *secrets.Keyring, params paramLookup, r record, tenant, id string, rec *storagev1.WebhookRecord) record {
	w, err := edgeWebhookWith(keyring, params, tenant, id, rec)
	if err != nil {
		r.err = err
		return r
	}
	r.res[roleEdge] = &hookgatev1.ConfigResource{
		Key:      r.keys[roleEdge],
		Resource: &hookgatev1.ConfigResource_Webhook{Webhook: w},
	}
	return r
}

// projectKeys names the resource an etcd key becomes for each role; ""
// where the role must never see it.
func projectKeys(etcdKey string) [numRoles]string {
	if kind, tenant, id, ok := parseOutboundKey(etcdKey); ok {
		return outboundKeys(kind, tenant, id)
	}
	var keys [numRoles]string
	if tenant, id, ok := parseWebhookKey(etcdKey); ok {
		// Only edges see inbound webhooks (least privilege).
		keys[roleEdge] = WebhookResourceKey(tenant, id)
	}
	return keys
}

// parseWebhookKey splits /hookgate/webhooks/{tenant}/{id}.
func parseWebhookKey(etcdKey string) (tenant, id string, ok bool) {
	rest, ok := strings.CutPrefix(etcdKey, store.WebhooksPrefix)
	// "_params/", "_apps/", "_endpoints/", … hold other records; no tenant
	// slug starts with "_".
	if !ok || strings.HasPrefix(rest, "_") {
		return "", "", false
	}
	tenant, id, ok = strings.Cut(rest, "/")
	if !ok || tenant == "" || id == "" || strings.Contains(id, "/") {
		return "", "", false
	}
	return tenant, id, true
}

// edgeWebhook converts a stored record without parameter references; see
// edgeWebhookWith.
func edgeWebhook(keyring *secrets.Keyring, tenant, id string, rec *storagev1.WebhookRecord) (*hookgatev1.EdgeWebhook, error) {
	return edgeWebhookWith(keyring, nil, tenant, id, rec)
}

// edgeWebhookWith converts a stored record into what an edge needs: the
// current key's digest, the previous one with its expiry, decrypted
// provider secrets (references resolved through params to the parameter's
// current value), previous secrets in their grace period, and the public
// fields the edge enforces. The tenant and id come from the etcd key, which
// is also what the secrets are bound to.
func edgeWebhookWith(keyring *secrets.Keyring, params paramLookup, tenant, id string, rec *storagev1.WebhookRecord) (*hookgatev1.EdgeWebhook, error) {
	w := rec.GetWebhook()
	if w == nil {
		return nil, errors.New("webhook record has no webhook")
	}
	if w.GetTenant() != tenant || w.GetId() != id {
		return nil, fmt.Errorf("webhook record names %s/%s but is stored at %s/%s", w.GetTenant(), w.GetId(), tenant, id)
	}
	out := &hookgatev1.EdgeWebhook{
		Tenant:       tenant,
		Id:           id,
		Active:       w.GetActive(),
		Provider:     w.GetProvider(),
		Bindings:     w.GetBindings(),
		MaxBodyBytes: w.GetMaxBodyBytes(),
		RateLimit:    w.GetRateLimit(),
		RawBody:      w.GetRawBody(),
		CustomHmac:   w.GetCustomHmac(),
		Url:          w.GetUrl(),
		// Absent means true in the record; the edge always gets it explicit.
		RequireKey: proto.Bool(w.RequireKey == nil || w.GetRequireKey()),
	}
	if k := rec.GetKey(); len(k.GetSha256()) > 0 {
		out.Keys = append(out.Keys, &hookgatev1.KeyDigest{Sha256: k.GetSha256()})
	}
	if k := rec.GetPreviousKey(); len(k.GetSha256()) > 0 {
		out.Keys = append(out.Keys, &hookgatev1.KeyDigest{Sha256: k.GetSha256(), ExpireTime: k.GetExpireTime()})
	}
	open := func(name string, c *storagev1.Ciphertext) (string, error) {
		plain, err := keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, store.SecretAAD(tenant, id, name))
		if err != nil {
			// The error names the key id, never the value.
			return "", fmt.Errorf("open provider secret %q: %w", name, err)
		}
		return string(plain), nil
	}
	if n := len(rec.GetProviderSecrets()) + len(rec.GetProviderSecretRefs()); n > 0 {
		out.ProviderSecrets = make(map[string]string, n)
	}
	for name, c := range rec.GetProviderSecrets() {
		v, err := open(name, c)
		if err != nil {
			return nil, err
		}
		out.ProviderSecrets[name] = v
	}
	addPrevious := func(name string, p *hookgatev1.PreviousSecret) {
		if out.PreviousProviderSecrets == nil {
			out.PreviousProviderSecrets = make(map[string]*hookgatev1.PreviousSecret)
		}
		// One previous value per secret: the one that verifies longest.
		if cur := out.PreviousProviderSecrets[name]; cur == nil || p.GetExpireTime().AsTime().After(cur.GetExpireTime().AsTime()) {
			out.PreviousProviderSecrets[name] = p
		}
	}
	for name, p := range rec.GetPreviousProviderSecrets() {
		v, err := open(name, p.GetValue())
		if err != nil {
			return nil, err
		}
		addPrevious(name, &hookgatev1.PreviousSecret{Value: v, ExpireTime: p.GetExpireTime()})
	}
	for name, param := range rec.GetProviderSecretRefs() {
		pv, ok := params.lookup(tenant, param)
		if !ok {
			return nil, fmt.Errorf("provider secret %q refers to config parameter %q, which does not exist", name, param)
		}
		out.ProviderSecrets[name] = pv.value
		if pv.previousExpire != nil {
			addPrevious(name, &hookgatev1.PreviousSecret{Value: pv.previous, ExpireTime: pv.previousExpire})
		}
	}
	return out, nil
}
