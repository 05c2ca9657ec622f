package admin

import (
	"context"
	"errors"
	"fmt"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/controlplane/secrets"
	"github.com/hookgate/hookgate/controlplane/store"
	storagev1 "github.com/hookgate/hookgate/gen/hookgate/storage/v1"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// RotateProviderSecret implements hookgatev1connect.InboundWebhookServiceHandler.
// It replaces one provider secret; the value it replaces keeps verifying
// for the grace period (the same rules as RotateWebhookKey), one previous
// value per secret. A current value given as a reference is kept as
// previous by the value its parameter has now, so a later change of the
// parameter does not change what the grace period accepts.
func (s *WebhookService) RotateProviderSecret(ctx context.Context, req *connect.Request[hookgatev1.RotateProviderSecretRequest]) (*connect.Response[hookgatev1.RotateProviderSecretResponse], error) {
	m := req.Msg
	if err := validateWebhookRef(m.GetTenant(), m.GetWebhookId()); err != nil {
		return nil, err
	}
	if m.GetName() == "" {
		return nil, invalid("name", "is required: the provider secret to rotate, e.g. signing_secret")
	}
	if err := validateSecretValue("value", m.GetName(), m.GetValue()); err != nil {
		return nil, err
	}
	param, isRef, err := parseSecretRef("value", m.GetName(), m.GetValue())
	if err != nil {
		return nil, err
	}
	grace, err := gracePeriod(m.GetGracePeriod())
	if err != nil {
		return nil, err
	}
	var expire *timestamppb.Timestamp
	rec, rev, err := s.store.UpdateWebhook(ctx, m.GetTenant(), m.GetWebhookId(), 0, func(rec *storagev1.WebhookRecord) error {
		w := rec.GetWebhook()
		name := m.GetName()
		if !usesSecret(w.GetProvider(), name) {
			return invalid("name", "%s does not use a secret named %q", ProviderLabel(w.GetProvider()), name)
		}
		// A key the edge cannot parse would verify nothing once the grace
		// period of the old one ends.
		if !isRef {
			if err := validateSecretFormat("value", w.GetProvider(), name, m.GetValue()); err != nil {
				return err
			}
		}
		now := s.clock.Now()
		old, err := s.currentSecret(ctx, rec, name)
		if err != nil {
			return err
		}
		delete(rec.PreviousProviderSecrets, name)
		expire = nil
		if grace > 0 && old != nil {
			expire = timestamppb.New(now.Add(grace))
			if rec.PreviousProviderSecrets == nil {
				rec.PreviousProviderSecrets = map[string]*storagev1.PreviousSecret{}
			}
			rec.PreviousProviderSecrets[name] = &storagev1.PreviousSecret{Value: old, ExpireTime: expire}
		}
		if isRef {
			delete(rec.ProviderSecrets, name)
			if rec.ProviderSecretRefs == nil {
				rec.ProviderSecretRefs = map[string]string{}
			}
			rec.ProviderSecretRefs[name] = param
		} else {
			delete(rec.ProviderSecretRefs, name)
			if rec.ProviderSecrets == nil {
				rec.ProviderSecrets = map[string]*storagev1.Ciphertext{}
			}
			rec.ProviderSecrets[name] = s.seal(w.GetTenant(), w.GetId(), map[string]string{name: m.GetValue()})[name]
		}
		w.UpdateTime = timestamppb.New(now)
		return nil
	})
	var missing *store.MissingParamError
	if errors.As(err, &missing) {
		return nil, invalid("value", "%v", missing)
	}
	if err != nil {
		return nil, toConnect(ctx, s.log, err)
	}
	s.log.InfoContext(ctx, "provider secret rotated", "tenant", m.GetTenant(), "webhook_id", m.GetWebhookId(), "secret", m.GetName(), "grace", grace)
	return connect.NewResponse(&hookgatev1.RotateProviderSecretResponse{Webhook: s.public(rec, rev), PreviousExpireTime: expire}), nil
}

// currentSecret returns the sealed current value of a secret, sealed for
// the webhook: a literal as stored, a reference by its parameter's value
// now. nil when the secret is not set.
func (s *WebhookService) currentSecret(ctx context.Context, rec *storagev1.WebhookRecord, name string) (*storagev1.Ciphertext, error) {
	w := rec.GetWebhook()
	if c := rec.GetProviderSecrets()[name]; c != nil {
		return c, nil
	}
	param, ok := rec.GetProviderSecretRefs()[name]
	if !ok {
		return nil, nil
	}
	p, _, err := s.store.ConfigParam(ctx, w.GetTenant(), param)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil // nothing verified with it: no previous value
	}
	if err != nil {
		return nil, err
	}
	plain, err := s.keyring.Open(sealedOf(p.GetValue()), store.ParamAAD(w.GetTenant(), param))
	if err != nil {
		return nil, fmt.Errorf("open config parameter %s: %w", param, err)
	}
	return s.seal(w.GetTenant(), w.GetId(), map[string]string{name: string(plain)})[name], nil
}

func sealedOf(c *storagev1.Ciphertext) secrets.Sealed {
	return secrets.Sealed{KeyID: c.GetKeyId(), Nonce: c.GetNonce(), Data: c.GetSealed()}
}

func ciphertextOf(s secrets.Sealed) *storagev1.Ciphertext {
	return &storagev1.Ciphertext{KeyId: s.KeyID, Nonce: s.Nonce, Sealed: s.Data}
}
