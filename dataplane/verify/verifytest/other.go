package verifytest

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// otherSigners are GitLab's token (with and without its signing token)
// and Mailgun's signature in the body.
func otherSigners() []*Signer {
	gitlabSigning := "whsec_" + b64.EncodeToString(randomBytes(32))
	return []*Signer{
		{
			// The token itself in X-Gitlab-Token: the body is not signed
			// and any string is a token, so no tampered or malformed case.
			Name: "GITLAB", Provider: hookgatev1.Provider_PROVIDER_GITLAB, Secret: "token", ContentType: "application/json",
			Headers: []string{"X-Gitlab-Token"}, wrongReason: TokenMismatch,
			newKey: textKey("glpat-", 20),
			sign: func(_ *Signer, in Input, k []Key) Call {
				return Call{Header: header("X-Gitlab-Token", k[0].Secret, "X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", in.ID)}
			},
		},
		{
			// With a signing token GitLab also signs the Standard Webhooks
			// way (webhook-id, webhook-timestamp, webhook-signature v1,),
			// the key being the base64 after whsec_. A wrong token is
			// refused before the signature is looked at.
			Name: "GITLAB_SIGNED", Provider: hookgatev1.Provider_PROVIDER_GITLAB, Secret: "token", ContentType: "application/json",
			Extra:   map[string]string{"signing_token": gitlabSigning},
			Headers: []string{"X-Gitlab-Token", "webhook-signature"}, MaxAge: 5 * time.Minute, MaxAhead: 5 * time.Minute,
			wrongReason: TokenMismatch,
			newKey:      textKey("glpat-", 20),
			sign: func(_ *Signer, in Input, k []Key) Call {
				raw, _ := b64.DecodeString(strings.TrimPrefix(gitlabSigning, "whsec_"))
				ts := unixS(in.Time)
				sig := b64.EncodeToString(mac(sha256.New, raw, s(in.ID+"."+ts+"."), in.Body))
				return Call{Header: header("X-Gitlab-Token", k[0].Secret, "X-Gitlab-Event", "Push Hook", "X-Gitlab-Event-UUID", in.ID,
					"webhook-id", in.ID, "webhook-timestamp", ts, "webhook-signature", "v1,"+sig)}
			},
			tamper:    tamperBody,
			missing:   func(c Call) Call { c.Header.Del("webhook-signature"); return c },
			malformed: setHeader("webhook-signature", fixed("v1,***")),
		},
		{
			// The body's signature object: hex HMAC-SHA256 of timestamp ‖
			// token. It does not cover the event data, so "tampered"
			// changes the signed token.
			Name: "MAILGUN", Provider: hookgatev1.Provider_PROVIDER_MAILGUN, Secret: "signing_key", ContentType: "application/json",
			MaxAge: time.Hour, MaxAhead: 5 * time.Minute,
			newKey: textKey("key-", 32),
			body: func(n int) []byte {
				return fmt.Appendf(nil, `{"id":"mg_%d_%s","event":"delivered","recipient":"alice@example.com"}`, n, randomText(8))
			},
			sign: func(_ *Signer, in Input, k []Key) Call {
				ts, token := unixS(in.Time), randomText(50)
				sig := hexSHA256(k[0].Secret, s(ts+token))
				body := fmt.Appendf(nil, `{"signature":{"timestamp":"%s","token":"%s","signature":"%s"},"event-data":%s}`, ts, token, sig, in.Body)
				return Call{Body: body, Header: header()}
			},
			tamper: func(c Call) Call { return replaceField(c, "token", changeFirst) },
			missing: func(c Call) Call {
				i := bytes.Index(c.Body, []byte(`"event-data":`))
				c.Body = append([]byte("{"), c.Body[i:]...)
				return c
			},
			malformed: func(c Call) Call { return replaceField(c, "signature", func(string) string { return "zz" }) },
		},
	}
}

// changeFirst returns v with its first character changed: setting it to
// one letter left a token that began with that letter unchanged, and its
// "tampered" call valid, once in 62 runs.
func changeFirst(v string) string {
	if v == "" {
		return "X"
	}
	c := byte('X')
	if v[0] == c {
		c = 'Y'
	}
	return string(c) + v[1:]
}

// replaceField rewrites the string value of the first member name of the
// body.
func replaceField(c Call, name string, value func(string) string) Call {
	marker := []byte(`"` + name + `":"`)
	i := bytes.Index(c.Body, marker)
	if i < 0 {
		panic("verifytest: no field " + name)
	}
	start := i + len(marker)
	end := start + bytes.IndexByte(c.Body[start:], '"')
	v := value(string(c.Body[start:end]))
	c.Body = append(append(append([]byte(nil), c.Body[:start]...), v...), c.Body[end:]...)
	return c
}
