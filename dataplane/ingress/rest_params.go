package ingress

import (
	"errors"
	"net/http"
	"net/url"
	"unicode/utf8"

	"connectrpc.com/connect"
	"github.com/hookgate/hookgate/gen/openapi"
)

// errParamsUTF8 answers a REST call whose path or query parameters are not
// UTF-8. They become proto strings, which must be UTF-8: vanguard fails to
// marshal them and would answer 500 unknown.
var errParamsUTF8 = connect.NewError(connect.CodeInvalidArgument, errors.New("path and query parameters must be UTF-8"))

// refuseNonUTF8Params answers 400 and reports true when r's path or query
// parameters, unescaped, are not UTF-8.
func refuseNonUTF8Params(w http.ResponseWriter, r *http.Request) bool {
	if utf8Params(r.URL) {
		return false
	}
	openapi.WriteError(w, errParamsUTF8)
	return true
}

func utf8Params(u *url.URL) bool {
	if !utf8.ValidString(u.Path) {
		return false
	}
	for k, vs := range u.Query() {
		if !utf8.ValidString(k) {
			return false
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return false
			}
		}
	}
	return true
}
