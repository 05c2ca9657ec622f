package verifytest_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/hookgate/hookgate/dataplane/verify"
	"github.com/hookgate/hookgate/dataplane/verify/verifytest"
	hookgatev1 "github.com/hookgate/hookgate/gen/hookgate/v1"
)

// scheme is the verifier of a signer's provider.
func scheme(t *testing.T, s *verifytest.Signer) verify.Scheme {
	t.Helper()
	if s.Provider == hookgatev1.Provider_PROVIDER_CUSTOM_HMAC {
		sc, err := verify.Custom(s.CustomHmac)
		if err != nil {
			t.Fatalf("custom: %v", err)
		}
		return sc
	}
	sc, ok := verify.For(s.Provider)
	if !ok {
		t.Fatalf("no scheme for %v", s.Provider)
	}
	return sc
}

func request(c verifytest.Call, now time.Time) *verify.Request {
	return &verify.Request{Method: c.Method, URL: c.URL, Header: c.Header, Body: c.Body, Now: now}
}

// secrets are the webhook's secrets: every value of the signer's secret
// (current first), and its extra ones.
func secrets(s *verifytest.Signer, keys ...verifytest.Key) verify.Secrets {
	out := verify.Secrets{}
	for k, v := range s.Extra {
		out[k] = []string{v}
	}
	for _, k := range keys {
		out[s.Secret] = append(out[s.Secret], k.Secret)
	}
	return out
}

func wantReason(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("want verified, got %v", err)
		}
		return
	}
	var f *verify.Failure
	if !errors.As(err, &f) {
		t.Fatalf("want %s, got %v", want, err)
	}
	if string(f.Reason) != want {
		t.Fatalf("want %s, got %s (%v)", want, f.Reason, err)
	}
}

// TestSignersCoverEveryProvider: every preset and CUSTOM_HMAC has a
// signer.
func TestSignersCoverEveryProvider(t *testing.T) {
	t.Parallel()
	have := map[hookgatev1.Provider]bool{}
	for _, s := range verifytest.Signers() {
		have[s.Provider] = true
	}
	want := []hookgatev1.Provider{hookgatev1.Provider_PROVIDER_CUSTOM_HMAC}
	for _, info := range verify.Providers() {
		want = append(want, info.Provider)
	}
	if len(want) != 23 {
		t.Fatalf("%d presets and CUSTOM_HMAC, want 22 and 1", len(want))
	}
	for _, p := range want {
		if !have[p] {
			t.Errorf("no signer for %v", p)
		}
	}
}

// TestSignersAgainstVerify runs every signer's calls through the verifier:
// valid ones verify, each spoiled one fails with its reason, a previous
// secret verifies during a rotation, and multi-signature schemes verify
// with either key's signature present.
func TestSignersAgainstVerify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	url := "https://hooks.example.com/in/acme/wh_0123456789?key=hgk_AbC-dEf_123"
	for _, s := range verifytest.Signers() {
		t.Run(s.Name, func(t *testing.T) {
			t.Parallel()
			sc := scheme(t, s)
			cur, old := s.NewKey(), s.NewKey()
			in := verifytest.Input{URL: url, Body: s.Body(1), Time: now}
			c := s.Sign(in, cur)
			wantReason(t, sc.Verify(request(c, now), secrets(s, cur)), "")
			if c.Header.Get("Content-Type") != s.ContentType {
				t.Fatalf("Content-Type %q", c.Header.Get("Content-Type"))
			}
			for _, bad := range s.Bad(in, cur) {
				t.Run(bad.Case, func(t *testing.T) {
					wantReason(t, sc.Verify(request(bad.Call, now), secrets(s, cur)), bad.Reason)
				})
			}
			// Rotation: new current value, the old one in grace.
			wantReason(t, sc.Verify(request(s.Sign(in, old), now), secrets(s, cur, old)), "")
			wantReason(t, sc.Verify(request(s.Sign(in, cur), now), secrets(s, cur, old)), "")
			wantReason(t, sc.Verify(request(s.Sign(in, old), now), secrets(s, cur)), map[bool]string{true: string(verify.TokenMismatch), false: string(verify.SignatureMismatch)}[s.Provider == hookgatev1.Provider_PROVIDER_GITLAB])
			if s.Multi {
				both := s.Sign(in, old, cur)
				wantReason(t, sc.Verify(request(both, now), secrets(s, cur)), "")
				wantReason(t, sc.Verify(request(both, now), secrets(s, old)), "")
			}
		})
	}
}

// TestHandshakesAgainstVerify checks each handshake's expected answer
// against the verifier's.
func TestHandshakesAgainstVerify(t *testing.T) {
	t.Parallel()
	now := time.Now()
	url := "https://hooks.example.com/in/acme/wh_0123456789?key=hgk_x"
	n := 0
	for _, s := range verifytest.Signers() {
		key := s.NewKey()
		hs, ok := s.Handshake(verifytest.Input{URL: url, Time: now}, key)
		if !ok {
			continue
		}
		n++
		t.Run(s.Name+"/"+hs.Name, func(t *testing.T) {
			sc := scheme(t, s)
			r := request(hs.Call, now)
			if r.Method == http.MethodPost {
				wantReason(t, sc.Verify(r, secrets(s, key)), "")
			}
			resp, ok := sc.(verify.Handshaker).Handshake(r, secrets(s, key))
			if !ok {
				t.Fatal("not taken as a handshake")
			}
			if resp.Status != hs.Status || !sameBody(hs, resp.Body) {
				t.Fatalf("answer %d %q, want %d %q", resp.Status, resp.Body, hs.Status, hs.Body)
			}
		})
	}
	if n != 5 {
		t.Fatalf("%d handshakes, want Slack, Meta, Zoom, Discord and Twitch", n)
	}
	meta := verifytest.Find("META")
	wrong := meta.MetaWrongToken(url)
	resp, ok := scheme(t, meta).(verify.Handshaker).Handshake(request(wrong.Call, now), secrets(meta, meta.NewKey()))
	if !ok || resp.Status != http.StatusForbidden {
		t.Fatalf("Meta wrong token: %v %+v", ok, resp)
	}
}

func sameBody(hs verifytest.Handshake, got []byte) bool {
	if !hs.JSON {
		return string(got) == string(hs.Body)
	}
	var a, b any
	if json.Unmarshal(got, &a) != nil || json.Unmarshal(hs.Body, &b) != nil {
		return false
	}
	return fmt.Sprint(a) == fmt.Sprint(b)
}
