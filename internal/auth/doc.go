// Package auth turns a bearer token into an Identity: static service tokens (kept as SHA-256
// hashes, compared in constant time), Backstage user tokens (ES256, verified against
// Backstage's JWKS) and OIDC tokens from the company's identity provider (discovery + JWKS).
// It decides who the caller is, never what they may do: that is internal/access.
package auth
