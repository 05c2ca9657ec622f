package verify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"time"

	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// bodySchemes are the presets of this family by provider: the signature
// travels inside the body.
var bodySchemes = map[hookgatev1.Provider]preset{
	hookgatev1.Provider_PROVIDER_MAILGUN: {scheme: mailgun{}, info: Info{
		Scheme:     "HMAC-SHA256 hex of {timestamp}{token} from the body's signature object (or form fields), timestamp in s, 1 h",
		Secrets:    []string{mailgunSecret},
		DeliveryID: "event-data.id in the body",
	}},
}

// Mailgun (shared/providers.md "Mailgun"): the JSON body's "signature"
// object holds timestamp (Unix s), token and signature, the hex
// HMAC-SHA256 of timestamp ‖ token keyed with the webhook signing key;
// legacy form-encoded webhooks carry the same three as fields. For a
// subaccount, "parent-signature" is the same computed with the primary
// account's key, so either verifies.
//
// The signature does not cover the event data: anyone holding one signed
// call can attach other data to its signature while the timestamp is
// within the tolerance. Mailgun warns that delivery may be delayed outside
// its control and gives no number; 1 hour old (5 min ahead) is the
// compromise.
const (
	mailgunSecret = "signing_key"
	mailgunObject = "signature"
	mailgunPast   = time.Hour
	mailgunFuture = 5 * time.Minute
)

type mailgun struct{}

// mailgunFields are the signature fields of a call.
type mailgunFields struct {
	timestamp, token, signature, parent string
	// form says they came from form fields, which changes where failures
	// point.
	form bool
}

func (mailgun) Verify(r *Request, s Secrets) error {
	keys, err := secretValues(s, mailgunSecret)
	if err != nil {
		return err
	}
	f, err := readMailgunFields(r)
	if err != nil {
		return err
	}
	where := func(field string) string {
		if f.form {
			return field
		}
		return mailgunObject + "." + field
	}
	if f.signature == "" {
		return fail(SignatureMissing, where("signature"))
	}
	var sig, parent [sha256.Size]byte
	if !decodeHexInto(sig[:], f.signature) {
		return fail(SignatureMalformed, where("signature"))
	}
	hasParent := f.parent != "" && decodeHexInto(parent[:], f.parent)
	if f.token == "" {
		return fail(SignatureMalformed, where("token"))
	}
	if err := checkUnix(r.Now, f.timestamp, time.Second, mailgunPast, mailgunFuture, where("timestamp")); err != nil {
		return err
	}
	var mac [sha256.Size]byte
	for _, key := range keys {
		h := hmac.New(sha256.New, []byte(key))
		h.Write([]byte(f.timestamp))
		h.Write([]byte(f.token))
		h.Sum(mac[:0])
		if hmac.Equal(mac[:], sig[:]) || hasParent && hmac.Equal(mac[:], parent[:]) {
			return nil
		}
	}
	return fail(SignatureMismatch, where("signature"))
}

// readMailgunFields reads the fields from a JSON body's signature object
// or, for a form body, from its fields. A JSON body without a signature
// object reads as a missing signature.
func readMailgunFields(r *Request) (mailgunFields, error) {
	body := bytes.TrimLeft(r.Body, " \t\r\n")
	if len(body) > 0 && body[0] == '{' {
		obj, ok := jsonMember(body, mailgunObject)
		if !ok {
			return mailgunFields{}, fail(SignatureMissing, mailgunObject)
		}
		if len(obj) == 0 || obj[0] != '{' {
			return mailgunFields{}, fail(SignatureMalformed, mailgunObject)
		}
		f := mailgunFields{
			token:     jsonFieldString(obj, "token"),
			signature: jsonFieldString(obj, "signature"),
			parent:    jsonFieldString(obj, "parent-signature"),
		}
		// The timestamp is a string in Mailgun's samples; a number is
		// taken as written.
		if raw, ok := jsonMember(obj, "timestamp"); ok {
			if len(raw) > 0 && raw[0] == '"' {
				f.timestamp, _ = jsonStringValue(raw)
			} else {
				f.timestamp = string(raw)
			}
		}
		return f, nil
	}
	if isFormBody(r) {
		return mailgunFields{
			timestamp: formValue(r.Body, "timestamp"),
			token:     formValue(r.Body, "token"),
			signature: formValue(r.Body, "signature"),
			form:      true,
		}, nil
	}
	return mailgunFields{}, fail(SignatureMissing, mailgunObject)
}

// DeliveryID is the event's id, event-data.id, the same on every retry.
func (mailgun) DeliveryID(r *Request) string {
	data, ok := jsonMember(r.Body, "event-data")
	if !ok {
		return ""
	}
	return jsonFieldString(data, "id")
}

// jsonFieldString is the string member name of the JSON object obj, ""
// when absent or not a string.
func jsonFieldString(obj []byte, name string) string {
	raw, ok := jsonMember(obj, name)
	if !ok {
		return ""
	}
	s, _ := jsonStringValue(raw)
	return s
}

// formValue is the first value of name in a form body, decoded.
func formValue(body []byte, name string) string {
	rest := body
	for len(rest) > 0 {
		var pair []byte
		if i := bytes.IndexByte(rest, '&'); i >= 0 {
			pair, rest = rest[:i], rest[i+1:]
		} else {
			pair, rest = rest, nil
		}
		k, v, _ := bytes.Cut(pair, []byte{'='})
		if dk, _ := formDecode(k, nil); string(dk) == name {
			dv, _ := formDecode(v, nil)
			return string(dv)
		}
	}
	return ""
}
