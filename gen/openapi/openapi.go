// Package openapi holds the OpenAPI 3 document of the REST paths, generated
// from proto/ by gnostic's protoc-gen-openapi and completed by
// tools/openapifinish ('make generate'; 'make gen-check' keeps it fresh).
package openapi

import _ "embed"

//go:embed openapi.json
var document []byte

// JSON returns the document as JSON. Callers must not modify it.
func JSON() []byte { return document }
