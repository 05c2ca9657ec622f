package verify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// tokenSchemes are the presets of this family by provider: the provider
// sends a shared secret itself, compared as a whole.
var tokenSchemes = map[hookgatev1.Provider]preset{
	hookgatev1.Provider_PROVIDER_GITLAB: {scheme: gitlab{}, info: Info{
		Scheme:     "X-Gitlab-Token compared with the token; with a signing token also Standard Webhooks v1 (HMAC-SHA256 of {id}.{timestamp}.{body}, 5 min)",
		Secrets:    []string{gitlabToken},
		Optional:   []string{gitlabSigningToken},
		DeliveryID: gitlabIDHeader + " header",
	}},
}

// GitLab (shared/providers.md "GitLab"): X-Gitlab-Token carries the
// secret token itself. It is compared as SHA-256 digests in constant time,
// so neither its bytes nor its length leak through timing. When the
// webhook also has a signing token, GitLab signs the call the Standard
// Webhooks way (webhook-id, webhook-timestamp, webhook-signature "v1,"
// base64 HMAC-SHA256 of id.timestamp.body) and both must verify: the
// token alone would let whoever learnt it skip the signature.
const (
	gitlabToken        = "token"
	gitlabSigningToken = "signing_token"
	gitlabTokenHeader  = "X-Gitlab-Token"
	gitlabIDHeader     = "X-Gitlab-Event-UUID"
)

type gitlab struct{}

func (gitlab) Verify(r *Request, s Secrets) error {
	tokens, err := secretValues(s, gitlabToken)
	if err != nil {
		return err
	}
	got := r.Header.Get(gitlabTokenHeader)
	if got == "" {
		return fail(SignatureMissing, gitlabTokenHeader)
	}
	gotSum := sha256.Sum256([]byte(got))
	matched := false
	for _, t := range tokens {
		want := sha256.Sum256([]byte(t))
		if hmac.Equal(gotSum[:], want[:]) {
			matched = true
		}
	}
	if !matched {
		return fail(TokenMismatch, gitlabTokenHeader)
	}
	if signing, err := secretValues(s, gitlabSigningToken); err == nil {
		return gitlabVerifySigned(r, signing)
	}
	return nil
}

func (gitlab) DeliveryID(r *Request) string { return r.Header.Get(gitlabIDHeader) }

// The Standard Webhooks headers of GitLab's signing token.
const (
	gitlabWebhookIDHeader = "webhook-id"
	gitlabTimestampHeader = "webhook-timestamp"
	gitlabSignatureHeader = "webhook-signature"
	gitlabTolerance       = 5 * time.Minute
	// gitlabMaxEntries bounds the signatures tried in one header.
	gitlabMaxEntries = 16
)

// gitlabVerifySigned checks a Standard Webhooks v1 signature keyed with any
// of the signing token's values. GitLab's serialisation of the token is
// not confirmed (providers.md), so a value with the Standard Webhooks
// prefix whsec_ is base64-decoded after it, and a bare value is tried both
// base64-decoded (when it decodes) and as its UTF-8 bytes.
func gitlabVerifySigned(r *Request, values []string) error {
	header := r.Header.Get(gitlabSignatureHeader)
	if header == "" {
		return fail(SignatureMissing, gitlabSignatureHeader)
	}
	id := r.Header.Get(gitlabWebhookIDHeader)
	if id == "" {
		return fail(SignatureMalformed, gitlabWebhookIDHeader)
	}
	ts := r.Header.Get(gitlabTimestampHeader)
	if err := checkUnix(r.Now, ts, time.Second, gitlabTolerance, gitlabTolerance, gitlabTimestampHeader); err != nil {
		return err
	}
	var sigs [gitlabMaxEntries][sha256.Size]byte
	n := 0
	for entry := range strings.FieldsSeq(header) {
		version, sig, ok := strings.Cut(entry, ",")
		if !ok || version != "v1" || n == gitlabMaxEntries {
			continue
		}
		if decodeBase64Into(sigs[n][:], sig) {
			n++
		}
	}
	if n == 0 {
		return fail(SignatureMalformed, gitlabSignatureHeader)
	}
	var mac [sha256.Size]byte
	for _, v := range values {
		for _, key := range gitlabSigningKeys(v) {
			h := hmac.New(sha256.New, key)
			h.Write([]byte(id))
			h.Write([]byte{'.'})
			h.Write([]byte(ts))
			h.Write([]byte{'.'})
			h.Write(r.Body)
			h.Sum(mac[:0])
			for i := range n {
				if hmac.Equal(mac[:], sigs[i][:]) {
					return nil
				}
			}
		}
	}
	return fail(SignatureMismatch, gitlabSignatureHeader)
}

// gitlabSigningKeys are the HMAC keys a signing-token value may stand for.
func gitlabSigningKeys(v string) [][]byte {
	if rest, ok := strings.CutPrefix(v, "whsec_"); ok {
		if key, err := base64.StdEncoding.DecodeString(rest); err == nil && len(key) > 0 {
			return [][]byte{key}
		}
		return nil
	}
	if key, err := base64.StdEncoding.DecodeString(v); err == nil && len(key) > 0 {
		return [][]byte{key, []byte(v)}
	}
	return [][]byte{[]byte(v)}
}
