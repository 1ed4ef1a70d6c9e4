package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/errs"
	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// issuer is a real HTTP server on loopback that serves a JWKS (and, for OIDC, a discovery
// document) for keys the test generates, and signs tokens with them.
type issuer struct {
	srv    *httptest.Server
	key    any
	kid    string
	alg    jose.SignatureAlgorithm
	hits   int
	jwks   string
	oidc   bool
	public any
}

func newIssuer(t *testing.T, alg jose.SignatureAlgorithm, oidc bool) *issuer {
	t.Helper()
	is := &issuer{kid: "k1", alg: alg, oidc: oidc}
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
		is.hits++
		set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: is.public, KeyID: is.kid, Algorithm: string(alg), Use: "sig"}}}
		_ = json.NewEncoder(w).Encode(set)
	})
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		if !is.oidc {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer": is.srv.URL, "jwks_uri": is.srv.URL + "/jwks.json", "authorization_endpoint": is.srv.URL + "/auth",
			"token_endpoint": is.srv.URL + "/token", "id_token_signing_alg_values_supported": []string{string(alg)},
		})
	})
	is.srv = httptest.NewServer(mux)
	t.Cleanup(is.srv.Close)
	is.jwks = is.srv.URL + "/jwks.json"
	return is
}

func (is *issuer) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: is.alg, Key: is.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", is.kid))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func baseClaims(iss, aud, sub string) map[string]any {
	now := time.Now()
	return map[string]any{"iss": iss, "aud": aud, "sub": sub, "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
}

func TestBackstageUserTokens(t *testing.T) {
	bs := newIssuer(t, jose.ES256, false)
	a := auth.New(&config.Config{BackstageJWKSURL: bs.jwks, BackstageIssuer: bs.srv.URL, BackstageAudience: "backstage"})
	good := baseClaims(bs.srv.URL, "backstage", "user:default/jane")
	good["ent"] = []string{"user:default/jane", "group:default/payments"}
	id, err := a.Authenticate(t.Context(), bs.sign(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "user:default/jane" || strings.Join(id.Groups, ",") != "group:default/payments" || id.Method != auth.MethodBackstage {
		t.Fatalf("identity: %+v", id)
	}

	other := newIssuer(t, jose.ES256, false) // same issuer claimed, other key
	bad := map[string]func() string{
		"expired": func() string {
			c := baseClaims(bs.srv.URL, "backstage", "user:default/jane")
			c["exp"] = time.Now().Add(-time.Minute).Unix()
			return bs.sign(t, c)
		},
		"wrong audience": func() string { return bs.sign(t, baseClaims(bs.srv.URL, "someone-else", "user:default/jane")) },
		"untrusted issuer": func() string {
			return bs.sign(t, baseClaims("https://evil.example", "backstage", "user:default/jane"))
		},
		"signed by another key": func() string {
			other.kid = "k1"
			return other.sign(t, baseClaims(bs.srv.URL, "backstage", "user:default/jane"))
		},
		"no subject": func() string { return bs.sign(t, baseClaims(bs.srv.URL, "backstage", "")) },
		"tampered payload": func() string {
			tok := bs.sign(t, baseClaims(bs.srv.URL, "backstage", "user:default/jane"))
			parts := strings.Split(tok, ".")
			forged := strings.Split(bs.sign(t, baseClaims(bs.srv.URL, "backstage", "user:default/admin")), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		},
		"malformed": func() string { return "a.b.c" },
	}
	for name, mk := range bad {
		t.Run(name, func(t *testing.T) {
			tok := mk()
			_, err := a.Authenticate(t.Context(), tok)
			if !errors.Is(err, errs.ErrUnauthenticated) {
				t.Fatalf("got %v, want ErrUnauthenticated", err)
			}
			if strings.Contains(err.Error(), tok) {
				t.Fatal("the error message contains the token")
			}
		})
	}
	if bs.hits == 0 {
		t.Fatal("the JWKS was never fetched")
	}
}

func TestOIDCTokens(t *testing.T) {
	idp := newIssuer(t, jose.RS256, true)
	a := auth.New(&config.Config{OIDCIssuer: idp.srv.URL, OIDCAudience: "berth", OIDCUsernameClaim: "email", OIDCGroupsClaim: "groups", OIDCUserPrefix: "oidc:"})
	c := baseClaims(idp.srv.URL, "berth", "00u1abc")
	c["email"], c["groups"], c["name"] = "jane@example.com", []string{"payments-devs", "everyone"}, "Jane Doe"
	id, err := a.Authenticate(t.Context(), idp.sign(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "oidc:jane@example.com" || len(id.Groups) != 2 || id.DisplayName != "Jane Doe" || id.Method != auth.MethodOIDC {
		t.Fatalf("identity: %+v", id)
	}
	delete(c, "email")
	if _, err := a.Authenticate(t.Context(), idp.sign(t, c)); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("token without the username claim: %v", err)
	}
	c = baseClaims(idp.srv.URL, "other-client", "x")
	c["email"] = "x@example.com"
	if _, err := a.Authenticate(t.Context(), idp.sign(t, c)); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("wrong audience: %v", err)
	}
}

func TestIdentityProviderDownIsUnavailableNotUnauthenticated(t *testing.T) {
	idp := newIssuer(t, jose.RS256, true)
	url := idp.srv.URL
	c := baseClaims(url, "berth", "u")
	tok := idp.sign(t, c)
	idp.srv.Close()
	a := auth.New(&config.Config{OIDCIssuer: url, OIDCAudience: "berth", OIDCUsernameClaim: "sub"})
	if _, err := a.Authenticate(t.Context(), tok); !errors.Is(err, errs.ErrUnavailable) {
		t.Fatalf("IdP down: got %v, want ErrUnavailable", err)
	}
}

func TestServiceTokens(t *testing.T) {
	plain, _ := config.ParseServiceToken("ci=ci-token-0123456789")
	hashed, _ := config.ParseServiceToken("backstage=sha256:" + strings.Repeat("ab", 32))
	a := auth.New(&config.Config{ServiceTokens: []config.ServiceToken{plain, hashed}})
	id, err := a.Authenticate(t.Context(), "ci-token-0123456789")
	if err != nil || id.Subject != "service:ci" || id.Method != auth.MethodServiceToken {
		t.Fatalf("%+v %v", id, err)
	}
	for _, bad := range []string{"", "ci-token-012345678", "ci-token-0123456789x"} {
		if _, err := a.Authenticate(t.Context(), bad); !errors.Is(err, errs.ErrUnauthenticated) {
			t.Fatalf("%q: %v", bad, err)
		}
	}
}
