// Package authtest runs token issuers for tests: a real HTTP server on loopback that serves a
// JWKS (and, for OIDC, a discovery document) for keys the test generates, and signs tokens
// with them, as Backstage or an identity provider would.
package authtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issuer serves its keys and signs tokens.
type Issuer struct {
	Srv *httptest.Server
	// JWKS is the key set's URL.
	JWKS string
	// KID names the signing key in tokens and in the key set.
	KID string
	// Hits counts key set fetches.
	Hits   int
	key    any
	public any
	alg    jose.SignatureAlgorithm
	oidc   bool
}

// NewIssuer starts an issuer signing with alg (ES256 as Backstage, RS256 as most IdPs);
// oidc adds the discovery document.
func NewIssuer(t testing.TB, alg jose.SignatureAlgorithm, oidc bool) *Issuer {
	t.Helper()
	is := &Issuer{KID: "k1", alg: alg, oidc: oidc}
	switch alg {
	case jose.ES256:
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		is.key, is.public = k, &k.PublicKey
	case jose.RS256:
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		is.key, is.public = k, &k.PublicKey
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks.json", func(w http.ResponseWriter, r *http.Request) {
		is.Hits++
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: is.public, KeyID: is.KID, Algorithm: string(alg), Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if !is.oidc {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.Srv.URL, "jwks_uri": is.Srv.URL + "/jwks.json", "authorization_endpoint": is.Srv.URL + "/auth",
			"token_endpoint": is.Srv.URL + "/token", "id_token_signing_alg_values_supported": []string{string(alg)},
		})
	})
	is.Srv = httptest.NewServer(mux)
	t.Cleanup(is.Srv.Close)
	is.JWKS = is.Srv.URL + "/jwks.json"
	return is
}

// Sign makes a token with the claims.
func (is *Issuer) Sign(t testing.TB, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: is.alg, Key: is.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", is.KID))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Claims are a token's standard claims, valid for an hour.
func Claims(iss, aud, sub string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss, "aud": aud, "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}
