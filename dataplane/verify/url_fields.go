package verify

import (
	"encoding/base64"
	"encoding/hex"
	"time"
)

// The readers below are shared by the URL, asymmetric, token and body
// schemes: each returns a *Failure naming where, never the value.

// secretValues returns the non-empty values of the secret name, current
// first; SecretMissing when there is none.
func secretValues(s Secrets, name string) ([]string, error) {
	values := s[name]
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	if n == len(values) && n > 0 {
		return values, nil
	}
	if n == 0 {
		return nil, fail(SecretMissing, name)
	}
	out := make([]string, 0, n)
	for _, v := range values {
		if v != "" {
			out = append(out, v)
		}
	}
	return out, nil
}

// headerBase64 decodes the standard base64 (padded) value of header into
// dst, which must be exactly the decoded length.
func headerBase64(r *Request, header string, dst []byte) error {
	v := r.Header.Get(header)
	if v == "" {
		return fail(SignatureMissing, header)
	}
	if !decodeBase64Into(dst, v) {
		return fail(SignatureMalformed, header)
	}
	return nil
}

// decodeBase64Into decodes standard base64 text v into dst (at most 64
// bytes), whose length it must fill exactly. It decodes into a buffer of
// its own first: Decode skips '\r' and '\n', so text of the right length
// may hold more data than dst takes.
func decodeBase64Into(dst []byte, v string) bool {
	var buf [96]byte
	if len(dst) > 64 || base64.StdEncoding.EncodedLen(len(dst)) != len(v) {
		return false
	}
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(v))
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, buf[:n])
	return true
}

// decodeHexInto decodes hex text v (either case) into dst, whose length it
// must fill exactly.
func decodeHexInto(dst []byte, v string) bool {
	if len(v) != 2*len(dst) {
		return false
	}
	_, err := hex.Decode(dst, []byte(v))
	return err == nil
}

// checkUnix checks a Unix timestamp ts, decimal digits in unit (seconds or
// milliseconds), against now: at most past older and future newer.
func checkUnix(now time.Time, ts string, unit, past, future time.Duration, where string) error {
	if ts == "" {
		return fail(TimestampMissing, where)
	}
	if len(ts) > 18 {
		return fail(TimestampMalformed, where)
	}
	var n int64
	for i := 0; i < len(ts); i++ {
		c := ts[i]
		if c < '0' || c > '9' {
			return fail(TimestampMalformed, where)
		}
		n = n*10 + int64(c-'0')
	}
	var nowU int64
	switch unit {
	case time.Millisecond:
		nowU = now.UnixMilli()
	default:
		nowU = now.Unix()
	}
	// n < 10^18 and nowU is near 1.7e9 (s) or 1.7e12 (ms): no overflow.
	age := nowU - n
	if age > int64(past/unit) || -age > int64(future/unit) {
		return fail(TimestampOutsideTolerance, where)
	}
	return nil
}
