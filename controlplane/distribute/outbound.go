package distribute

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/proto"
)

// Outbound record kinds below the watched prefix.
const (
	kindApp       = "application"
	kindEventType = "event-type"
	kindEndpoint  = "endpoint"
	kindTenant    = "tenant"
	kindToken     = "token"
)

// defaultTimeoutMS is the delivery timeout of an endpoint that has none.
const defaultTimeoutMS = 5000

// EndpointResourceKey is the ConfigResource key of an outbound endpoint.
func EndpointResourceKey(tenant, id string) string { return "endpoint/" + tenant + "/" + id }

// EventTypeResourceKey is the ConfigResource key of an event type.
func EventTypeResourceKey(tenant, name string) string { return "event-type/" + tenant + "/" + name }

// ApplicationResourceKey is the ConfigResource key of an application.
func ApplicationResourceKey(tenant, id string) string { return "application/" + tenant + "/" + id }

// TokenResourceKey is the ConfigResource key of an admin or producer
// token's digest; tenant is "" for a platform token.
func TokenResourceKey(tenant, id string) string {
	if tenant == "" {
		tenant = store.PlatformTokenScope
	}
	return "token/" + tenant + "/" + id
}

// TenantResourceKey is the ConfigResource key of a tenant's outbound settings.
func TenantResourceKey(tenant string) string { return "tenant/" + tenant }

// parseOutboundKey names the kind, tenant and id of an outbound record's
// etcd key.
func parseOutboundKey(etcdKey string) (kind, tenant, id string, ok bool) {
	split := func(rest string, n int) []string {
		parts := strings.Split(rest, "/")
		if len(parts) != n || strings.Contains(rest, "//") || strings.HasSuffix(rest, "/") || strings.HasPrefix(rest, "/") {
			return nil
		}
		return parts
	}
	if rest, ok := strings.CutPrefix(etcdKey, store.AppsPrefix); ok {
		if p := split(rest, 2); p != nil {
			return kindApp, p[0], p[1], true
		}
	}
	if rest, ok := strings.CutPrefix(etcdKey, store.EventTypesPrefix); ok {
		if p := split(rest, 2); p != nil {
			return kindEventType, p[0], p[1], true
		}
	}
	if rest, ok := strings.CutPrefix(etcdKey, store.EndpointsPrefix); ok {
		if p := split(rest, 3); p != nil {
			return kindEndpoint, p[0], p[2], true
		}
	}
	if rest, ok := strings.CutPrefix(etcdKey, store.TokenMirrorsPrefix); ok {
		if p := split(rest, 2); p != nil {
			tenant := p[0]
			if tenant == store.PlatformTokenScope {
				tenant = ""
			}
			return kindToken, tenant, p[1], true
		}
	}
	if rest, ok := strings.CutPrefix(etcdKey, store.TenantMirrorsPrefix); ok {
		if p := split(rest, 1); p != nil {
			return kindTenant, p[0], "", true
		}
	}
	return "", "", "", false
}

// outboundKeys names the resource an outbound record becomes per role:
// edges get applications, event types and token digests (to accept
// messages), never endpoints or signing secrets; dispatchers get
// applications, endpoints and tenants' retry schedules, never tokens.
func outboundKeys(kind, tenant, id string) [numRoles]string {
	var keys [numRoles]string
	switch kind {
	case kindApp:
		keys[roleEdge] = ApplicationResourceKey(tenant, id)
		keys[roleDispatcher] = ApplicationResourceKey(tenant, id)
	case kindEventType:
		keys[roleEdge] = EventTypeResourceKey(tenant, id)
	case kindEndpoint:
		keys[roleDispatcher] = EndpointResourceKey(tenant, id)
	case kindTenant:
		keys[roleDispatcher] = TenantResourceKey(tenant)
	case kindToken:
		keys[roleEdge] = TokenResourceKey(tenant, id)
	}
	return keys
}

// projectOutbound converts an outbound record; false when etcdKey is none.
func projectOutbound(keyring *secrets.Keyring, etcdKey string, value []byte, modRev int64, deleted bool) (record, bool) {
	kind, tenant, id, ok := parseOutboundKey(etcdKey)
	if !ok {
		return record{}, false
	}
	r := record{etcdKey: etcdKey, modRev: modRev, deleted: deleted, keys: outboundKeys(kind, tenant, id)}
	if deleted {
		return r, true
	}
	set := func(role int, res *hookgatev1.ConfigResource) {
		res.Key = r.keys[role]
		r.res[role] = res
	}
	switch kind {
	case kindApp:
		var rec storagev1.ApplicationRecord
		if r.err = proto.Unmarshal(value, &rec); r.err != nil {
			break
		}
		a := &hookgatev1.OutboundApplication{Tenant: tenant, Id: id, Uid: rec.GetApplication().GetUid()}
		set(roleEdge, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_Application{Application: a}})
		set(roleDispatcher, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_Application{Application: a}})
	case kindEventType:
		var rec storagev1.EventTypeRecord
		if r.err = proto.Unmarshal(value, &rec); r.err != nil {
			break
		}
		et := rec.GetEventType()
		set(roleEdge, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_EventType{EventType: &hookgatev1.EdgeEventType{
			Tenant: tenant, Name: id, Schema: et.GetSchema(), Archived: et.GetArchived(),
		}}})
	case kindEndpoint:
		var rec storagev1.EndpointRecord
		if r.err = proto.Unmarshal(value, &rec); r.err != nil {
			break
		}
		var ep *hookgatev1.DispatchEndpoint
		if ep, r.err = dispatchEndpoint(keyring, tenant, id, &rec); r.err == nil {
			set(roleDispatcher, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_Endpoint{Endpoint: ep}})
		}
	case kindToken:
		var rec storagev1.TokenRecord
		if r.err = proto.Unmarshal(value, &rec); r.err != nil {
			break
		}
		tok := rec.GetToken()
		if tok.GetId() != id || tok.GetTenant() != tenant || len(rec.GetSha256()) != 32 {
			r.err = errors.New("token mirror does not match its key or holds no SHA-256 digest")
			break
		}
		kind := tok.GetKind()
		if kind == hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_UNSPECIFIED {
			kind = hookgatev1.AdminTokenKind_ADMIN_TOKEN_KIND_ADMIN
		}
		// The digest only: the token itself is never stored anywhere.
		set(roleEdge, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_Token{Token: &hookgatev1.EdgeToken{
			Id: id, Tenant: tenant, Kind: kind, Sha256: rec.GetSha256(),
		}}})
	case kindTenant:
		var rec storagev1.TenantMirror
		if r.err = proto.Unmarshal(value, &rec); r.err != nil {
			break
		}
		set(roleDispatcher, &hookgatev1.ConfigResource{Resource: &hookgatev1.ConfigResource_Tenant{Tenant: &hookgatev1.DispatchTenant{
			Tenant: tenant, RetrySchedule: rec.GetTenant().GetRetrySchedule(),
		}}})
	}
	if r.err != nil {
		r.err = fmt.Errorf("convert %s %s/%s: %w", kind, tenant, id, r.err)
	}
	return r, true
}

// dispatchEndpoint converts a stored endpoint into what a dispatcher
// needs: decrypted signing secrets (current first, then a rotated one with
// its expiry) and headers with write-only values decrypted, defaults
// filled in.
func dispatchEndpoint(keyring *secrets.Keyring, tenant, id string, rec *storagev1.EndpointRecord) (*hookgatev1.DispatchEndpoint, error) {
	ep := rec.GetEndpoint()
	if ep == nil {
		return nil, errors.New("endpoint record has no endpoint")
	}
	if ep.GetTenant() != tenant || ep.GetId() != id {
		return nil, fmt.Errorf("endpoint record names %s/%s but is stored at %s/%s", ep.GetTenant(), ep.GetId(), tenant, id)
	}
	open := func(name string, c *storagev1.Ciphertext) (string, error) {
		plain, err := keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, store.EndpointSecretAAD(tenant, id, name))
		if err != nil {
			// The error names the key id, never the value.
			return "", fmt.Errorf("open %s: %w", name, err)
		}
		return string(plain), nil
	}
	out := &hookgatev1.DispatchEndpoint{
		Tenant:             tenant,
		Id:                 id,
		ApplicationId:      ep.GetApplicationId(),
		Url:                ep.GetUrl(),
		EventTypes:         ep.GetEventTypes(),
		Enabled:            ep.GetStatus() == hookgatev1.EndpointStatus_ENDPOINT_STATUS_ENABLED,
		RateLimitPerSecond: ep.GetRateLimitPerSecond(),
		Burst:              ep.GetBurst(),
		MaxInFlight:        ep.GetMaxInFlight(),
		TimeoutMs:          ep.GetTimeoutMs(),
		Headers:            maps.Clone(ep.GetHeaders()),
	}
	if out.TimeoutMs == 0 {
		out.TimeoutMs = defaultTimeoutMS
	}
	if out.RateLimitPerSecond > 0 && out.Burst == 0 {
		out.Burst = out.RateLimitPerSecond
	}
	for name, c := range rec.GetSealedHeaders() {
		v, err := open("header:"+name, c)
		if err != nil {
			return nil, err
		}
		if out.Headers == nil {
			out.Headers = make(map[string]string)
		}
		out.Headers[name] = v
	}
	cur, err := open("signing", rec.GetSecret())
	if err != nil {
		return nil, err
	}
	out.Secrets = append(out.Secrets, &hookgatev1.SigningSecret{Secret: cur})
	if ps := rec.GetPreviousSecret(); ps != nil {
		prev, err := open("signing", ps.GetValue())
		if err != nil {
			return nil, err
		}
		out.Secrets = append(out.Secrets, &hookgatev1.SigningSecret{Secret: prev, ExpireTime: ps.GetExpireTime()})
	}
	return out, nil
}
