package distribute

import (
	"fmt"
	"strings"

	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// paramValue is a config parameter's decrypted values.
type paramValue struct {
	value, previous string
	// previousExpire is set while the previous value verifies.
	previousExpire *timestamppb.Timestamp
	modRev         int64
}

// paramLookup finds a tenant's parameter; a nil one finds none.
type paramLookup map[string]paramValue

func (p paramLookup) lookup(tenant, name string) (paramValue, bool) {
	v, ok := p[tenant+"/"+name]
	return v, ok
}

// referrer is a webhook that refers to parameters, kept decoded so that a
// parameter change can convert it again.
type referrer struct {
	rec    *storagev1.WebhookRecord
	modRev int64
	params []string // param keys, tenant/name
}

// resolver resolves provider secrets given as ${configParam.NAME}: it holds
// every parameter's value and the webhooks that refer to them. A webhook's
// resource is then a function of its record and its parameters, and its
// revision the newest of theirs, so that a parameter change re-emits every
// webhook that refers to it at the change's revision, and a reload tells
// the same change from no change. Only the watch loop uses it.
type resolver struct {
	keyring   *secrets.Keyring
	params    paramLookup
	referrers map[string]referrer            // webhook etcd key
	byParam   map[string]map[string]struct{} // param key → webhook etcd keys
}

func newResolver(keyring *secrets.Keyring) *resolver {
	r := &resolver{keyring: keyring}
	r.reset()
	return r
}

func (r *resolver) reset() {
	r.params = paramLookup{}
	r.referrers = map[string]referrer{}
	r.byParam = map[string]map[string]struct{}{}
}

// parseParamKey splits /hookgate/webhooks/_params/{tenant}/{name}.
func parseParamKey(etcdKey string) (paramKey string, ok bool) {
	rest, ok := strings.CutPrefix(etcdKey, store.ConfigParamsPrefix)
	if !ok {
		return "", false
	}
	tenant, name, ok := strings.Cut(rest, "/")
	if !ok || tenant == "" || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return rest, true
}

// setParam applies a parameter's put or delete and returns the etcd keys of
// the webhooks that refer to it. A parameter that cannot be read is an
// error; the previous value is kept, so referring webhooks keep theirs.
func (r *resolver) setParam(etcdKey string, value []byte, modRev int64, deleted bool) ([]string, error) {
	pk, ok := parseParamKey(etcdKey)
	if !ok {
		return nil, errNotDistributed
	}
	var refs []string
	for k := range r.byParam[pk] {
		refs = append(refs, k)
	}
	if deleted {
		delete(r.params, pk)
		return refs, nil
	}
	var rec storagev1.ConfigParamRecord
	if err := proto.Unmarshal(value, &rec); err != nil {
		return nil, fmt.Errorf("decode config parameter record: %w", err)
	}
	aad := []byte(etcdKey)
	open := func(c *storagev1.Ciphertext) (string, error) {
		plain, err := r.keyring.Open(secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}, aad)
		if err != nil {
			return "", fmt.Errorf("open config parameter %s: %w", pk, err)
		}
		return string(plain), nil
	}
	v := paramValue{modRev: modRev}
	var err error
	if v.value, err = open(rec.GetValue()); err != nil {
		return nil, err
	}
	if rec.GetPreviousValue() != nil && rec.GetPreviousExpireTime() != nil {
		if v.previous, err = open(rec.GetPreviousValue()); err != nil {
			return nil, err
		}
		v.previousExpire = rec.GetPreviousExpireTime()
	}
	r.params[pk] = v
	return refs, nil
}

// webhook projects a webhook's put or delete, keeping track of the
// parameters it refers to.
func (r *resolver) webhook(etcdKey string, value []byte, modRev int64, deleted bool) record {
	r.forget(etcdKey)
	if rec, ok := projectOutbound(r.keyring, etcdKey, value, modRev, deleted); ok {
		return rec
	}
	rec := record{etcdKey: etcdKey, modRev: modRev, deleted: deleted, keys: projectKeys(etcdKey)}
	tenant, id, ok := parseWebhookKey(etcdKey)
	if !ok {
		rec.err = errNotDistributed
		return rec
	}
	if deleted {
		return rec
	}
	var wr storagev1.WebhookRecord
	if err := proto.Unmarshal(value, &wr); err != nil {
		rec.err = fmt.Errorf("decode webhook record: %w", err)
		return rec
	}
	if len(wr.GetProviderSecretRefs()) > 0 {
		ref := referrer{rec: &wr, modRev: modRev}
		for _, name := range wr.GetProviderSecretRefs() {
			pk := tenant + "/" + name
			ref.params = append(ref.params, pk)
			if r.byParam[pk] == nil {
				r.byParam[pk] = map[string]struct{}{}
			}
			r.byParam[pk][etcdKey] = struct{}{}
		}
		r.referrers[etcdKey] = ref
		rec.modRev = r.revisionOf(ref)
	}
	return projectRecord(r.keyring, r.params, rec, tenant, id, &wr)
}

// reproject converts a referring webhook again after a parameter changed.
func (r *resolver) reproject(etcdKey string) (record, bool) {
	ref, ok := r.referrers[etcdKey]
	if !ok {
		return record{}, false
	}
	tenant, id, _ := parseWebhookKey(etcdKey)
	rec := record{etcdKey: etcdKey, modRev: r.revisionOf(ref), keys: projectKeys(etcdKey)}
	return projectRecord(r.keyring, r.params, rec, tenant, id, ref.rec), true
}

// revisionOf is the newest revision among a webhook and its parameters.
func (r *resolver) revisionOf(ref referrer) int64 {
	rev := ref.modRev
	for _, pk := range ref.params {
		rev = max(rev, r.params[pk].modRev)
	}
	return rev
}

func (r *resolver) forget(etcdKey string) {
	ref, ok := r.referrers[etcdKey]
	if !ok {
		return
	}
	for _, pk := range ref.params {
		delete(r.byParam[pk], etcdKey)
		if len(r.byParam[pk]) == 0 {
			delete(r.byParam, pk)
		}
	}
	delete(r.referrers, etcdKey)
}

// kv is one etcd key-value of a watch event or a range read.
type kv struct {
	key     string
	value   []byte
	modRev  int64
	deleted bool
}

// batch projects the changes of one etcd revision (or of a whole load):
// parameters first, so that webhooks written in the same transaction see
// them, then webhooks, then every other webhook that refers to a changed
// parameter, at its new revision.
func (r *resolver) batch(kvs []kv, onErr func(record)) []record {
	var recs []record
	changed := map[string]struct{}{}
	for _, e := range kvs {
		if _, ok := parseParamKey(e.key); !ok {
			continue
		}
		refs, err := r.setParam(e.key, e.value, e.modRev, e.deleted)
		// The parameter's own key carries no resource for any role; it is
		// a record so that the view tracks its revision for reloads.
		pr := record{etcdKey: e.key, modRev: e.modRev, deleted: e.deleted, err: err}
		if err != nil {
			onErr(pr)
			pr.err = nil // nothing of the role changes; referrers keep theirs
		}
		recs = append(recs, pr)
		for _, k := range refs {
			changed[k] = struct{}{}
		}
	}
	for _, e := range kvs {
		if _, ok := parseParamKey(e.key); ok {
			continue
		}
		rec := r.webhook(e.key, e.value, e.modRev, e.deleted)
		if rec.err != nil && rec.err != errNotDistributed {
			onErr(rec)
		}
		recs = append(recs, rec)
		delete(changed, e.key)
	}
	for k := range changed {
		rec, ok := r.reproject(k)
		if !ok {
			continue
		}
		if rec.err != nil {
			onErr(rec)
		}
		recs = append(recs, rec)
	}
	return recs
}
