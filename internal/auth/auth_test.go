package auth_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/auth"
	"github.com/berth-platform/berth/internal/auth/authtest"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/errs"
	jose "github.com/go-jose/go-jose/v4"
)

func TestBackstageUserTokens(t *testing.T) {
	bs := authtest.NewIssuer(t, jose.ES256, false)
	a := auth.New(&config.Config{BackstageJWKSURL: bs.JWKS, BackstageIssuer: bs.Srv.URL, BackstageAudience: "backstage"})
	good := authtest.Claims(bs.Srv.URL, "backstage", "user:default/jane")
	good["ent"] = []string{"user:default/jane", "group:default/payments"}
	id, err := a.Authenticate(t.Context(), bs.Sign(t, good))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "user:default/jane" || strings.Join(id.Groups, ",") != "group:default/payments" || id.Method != auth.MethodBackstage {
		t.Fatalf("identity: %+v", id)
	}

	other := authtest.NewIssuer(t, jose.ES256, false) // same issuer claimed, other key
	bad := map[string]func() string{
		"expired": func() string {
			c := authtest.Claims(bs.Srv.URL, "backstage", "user:default/jane")
			c["exp"] = time.Now().Add(-time.Minute).Unix()
			return bs.Sign(t, c)
		},
		"wrong audience": func() string { return bs.Sign(t, authtest.Claims(bs.Srv.URL, "someone-else", "user:default/jane")) },
		"untrusted issuer": func() string {
			return bs.Sign(t, authtest.Claims("https://evil.example", "backstage", "user:default/jane"))
		},
		"signed by another key": func() string {
			other.KID = "k1"
			return other.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "user:default/jane"))
		},
		"no subject": func() string { return bs.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "")) },
		"tampered payload": func() string {
			tok := bs.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "user:default/jane"))
			parts := strings.Split(tok, ".")
			forged := strings.Split(bs.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "user:default/admin")), ".")
			return parts[0] + "." + forged[1] + "." + parts[2]
		},
		"malformed": func() string { return "a.b.c" },
		// A Backstage token speaks for Backstage users only, never another way in.
		"service subject": func() string { return bs.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "service:ci")) },
		"system subject":  func() string { return bs.Sign(t, authtest.Claims(bs.Srv.URL, "backstage", "system:admin")) },
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
	if bs.Hits == 0 {
		t.Fatal("the JWKS was never fetched")
	}
}

func TestOIDCTokens(t *testing.T) {
	idp := authtest.NewIssuer(t, jose.RS256, true)
	a := auth.New(&config.Config{OIDCIssuer: idp.Srv.URL, OIDCAudience: "berth", OIDCUsernameClaim: "email", OIDCGroupsClaim: "groups", OIDCUserPrefix: "oidc:", OIDCGroupPrefix: "oidc:"})
	c := authtest.Claims(idp.Srv.URL, "berth", "00u1abc")
	c["email"], c["groups"], c["name"] = "jane@example.com", []string{"payments-devs", "everyone"}, "Jane Doe"
	id, err := a.Authenticate(t.Context(), idp.Sign(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "oidc:jane@example.com" || strings.Join(id.Groups, ",") != "oidc:payments-devs,oidc:everyone" || id.DisplayName != "Jane Doe" || id.Method != auth.MethodOIDC {
		t.Fatalf("identity: %+v", id)
	}
	delete(c, "email")
	if _, err := a.Authenticate(t.Context(), idp.Sign(t, c)); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("token without the username claim: %v", err)
	}
	c = authtest.Claims(idp.Srv.URL, "other-client", "x")
	c["email"] = "x@example.com"
	if _, err := a.Authenticate(t.Context(), idp.Sign(t, c)); !errors.Is(err, errs.ErrUnauthenticated) {
		t.Fatalf("wrong audience: %v", err)
	}
}

// An IdP user or group named like another method's principal stays in the IdP's namespace:
// it never becomes that service token, Backstage group or platform admin.
func TestOIDCNamesCannotClaimOtherPrincipals(t *testing.T) {
	idp := authtest.NewIssuer(t, jose.RS256, true)
	a := auth.New(&config.Config{OIDCIssuer: idp.Srv.URL, OIDCAudience: "berth", OIDCUsernameClaim: "preferred_username", OIDCGroupsClaim: "groups",
		OIDCUserPrefix: "oidc:", OIDCGroupPrefix: "oidc:"})
	c := authtest.Claims(idp.Srv.URL, "berth", "x")
	c["preferred_username"], c["groups"] = "service:ci", []string{"group:default/platform", "system:masters"}
	id, err := a.Authenticate(t.Context(), idp.Sign(t, c))
	if err != nil {
		t.Fatal(err)
	}
	if id.Subject != "oidc:service:ci" || strings.Join(id.Groups, ",") != "oidc:group:default/platform,oidc:system:masters" {
		t.Fatalf("identity: %+v", id)
	}
}

// The defaults give IdP names a prefix, and a configuration that would let them overlap
// another method's subjects is refused before start.
func TestOIDCPrefixesAreRequired(t *testing.T) {
	for _, tc := range []struct{ user, group, want string }{
		{"", "oidc:", "--oidc-user-prefix"},
		{"oidc:", "", "--oidc-group-prefix"},
		{"user:", "oidc:", "overlaps"},
		{"ser", "oidc:", "ending in ':'"},
	} {
		c := &config.Config{}
		fs := config.NewFlagSet("serve", c)
		err := config.Parse(fs, []string{"--oidc-issuer=https://idp.example.com", "--oidc-audience=berth",
			"--oidc-user-prefix=" + tc.user, "--oidc-group-prefix=" + tc.group}, c)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("prefixes %q/%q: %v, want an error naming %s", tc.user, tc.group, err, tc.want)
		}
	}
	c := &config.Config{}
	if err := config.Parse(config.NewFlagSet("serve", c), []string{"--oidc-issuer=https://idp.example.com", "--oidc-audience=berth"}, c); err != nil {
		t.Fatal(err)
	}
	if c.OIDCUserPrefix != "oidc:" || c.OIDCGroupPrefix != "oidc:" {
		t.Fatalf("default prefixes %q and %q", c.OIDCUserPrefix, c.OIDCGroupPrefix)
	}
}

func TestIdentityProviderDownIsUnavailableNotUnauthenticated(t *testing.T) {
	idp := authtest.NewIssuer(t, jose.RS256, true)
	url := idp.Srv.URL
	c := authtest.Claims(url, "berth", "u")
	tok := idp.Sign(t, c)
	idp.Srv.Close()
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
