// Package openapi embeds berth.yaml, the source of truth of Berth's HTTP API, so that the
// binary serves it at /openapi.yaml and validates requests against the very same document.
package openapi

import _ "embed"

// Spec is openapi/berth.yaml as written.
//
//go:embed berth.yaml
var Spec []byte
