package envelope

// Limits of the inbound path's segments (DESIGN.md, "Identifiers and
// secrets"; docs/design.md, "Secrets").
const (
	minTenantLen    = 3
	maxTenantLen    = 50
	webhookIDPrefix = "wh_"
	maxWebhookIDLen = 64 // random part, after the prefix
	inboundPrefix   = "/in/"
)

// ParsePath splits an inbound request path of the form
// /in/{tenant}/{webhook_id} and reports whether it is well formed. The tenant
// is a slug of 3 to 50 characters from [a-z0-9-]; the webhook id is "wh_"
// followed by 1 to 64 characters from [0-9a-z] (ids are made from [0-9a-v],
// but the wider set is accepted). Anything else is refused: another prefix,
// a third segment, an empty segment, a trailing slash, dots, upper case and
// percent-escapes.
//
// Pass the escaped form of the path (http.Request.URL.EscapedPath) so that a
// percent-encoded variant of a valid path is refused rather than decoded.
// The results are substrings of path; ParsePath does not allocate.
func ParsePath(path string) (tenant, webhookID string, ok bool) {
	if len(path) < len(inboundPrefix) || path[:len(inboundPrefix)] != inboundPrefix {
		return "", "", false
	}
	rest := path[len(inboundPrefix):]
	slash := -1
	for i := 0; i < len(rest); i++ {
		if rest[i] == '/' {
			slash = i
			break
		}
	}
	if slash < 0 {
		return "", "", false
	}
	tenant, webhookID = rest[:slash], rest[slash+1:]
	if !validTenant(tenant) || !validWebhookID(webhookID) {
		return "", "", false
	}
	return tenant, webhookID, true
}

func validTenant(s string) bool {
	if len(s) < minTenantLen || len(s) > maxTenantLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isLowerAlnum(c) && c != '-' {
			return false
		}
	}
	return true
}

func validWebhookID(s string) bool {
	if len(s) <= len(webhookIDPrefix) || len(s) > len(webhookIDPrefix)+maxWebhookIDLen ||
		s[:len(webhookIDPrefix)] != webhookIDPrefix {
		return false
	}
	for i := len(webhookIDPrefix); i < len(s); i++ {
		if !isLowerAlnum(s[i]) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || '0' <= c && c <= '9'
}
