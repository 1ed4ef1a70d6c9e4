package auth

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/errs"
)

// Methods of authentication, as /api/v1/me reports them.
const (
	MethodServiceToken = "service-token"
	MethodBackstage    = "backstage"
	MethodOIDC         = "oidc"
)

// Identity is an authenticated caller.
type Identity struct {
	// Subject is a Backstage user entity ref (user:default/jane), the IdP's user name, or
	// service:<name> for a service token.
	Subject     string
	DisplayName string
	Groups      []string
	Method      string
}

// Authenticator verifies bearer tokens.
type Authenticator struct {
	static    []config.ServiceToken
	backstage *jwtVerifier
	oidc      *jwtVerifier
}

// New builds an Authenticator from configuration. Remote keys are fetched on first use, so
// Berth starts even while Backstage or the IdP is down.
func New(c *config.Config) *Authenticator {
	a := &Authenticator{static: c.ServiceTokens}
	if c.BackstageJWKSURL != "" {
		a.backstage = newBackstageVerifier(c.BackstageJWKSURL, c.BackstageIssuer, c.BackstageAudience)
	}
	if c.OIDCIssuer != "" {
		a.oidc = newOIDCVerifier(c.OIDCIssuer, c.OIDCAudience, c.OIDCUsernameClaim, c.OIDCGroupsClaim, c.OIDCUserPrefix, c.OIDCGroupPrefix)
	}
	return a
}

// Authenticate returns the caller a token belongs to, or an error wrapping
// errs.ErrUnauthenticated. Errors never contain the token.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (Identity, error) {
	if token == "" {
		return Identity{}, fmt.Errorf("%w: no bearer token", errs.ErrUnauthenticated)
	}
	if strings.Count(token, ".") != 2 {
		return a.serviceToken(token)
	}
	iss, err := unverifiedIssuer(token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: malformed token", errs.ErrUnauthenticated)
	}
	for _, v := range []*jwtVerifier{a.backstage, a.oidc} {
		if v != nil && v.issuer == iss {
			return v.verify(ctx, token)
		}
	}
	return Identity{}, fmt.Errorf("%w: token issuer is not trusted", errs.ErrUnauthenticated)
}

func (a *Authenticator) serviceToken(token string) (Identity, error) {
	sum := sha256.Sum256([]byte(token))
	match := -1
	// Compare against every token so timing says nothing about which one (or whether any) matched.
	for i, t := range a.static {
		if subtle.ConstantTimeCompare(sum[:], t.Hash[:]) == 1 {
			match = i
		}
	}
	if match < 0 {
		return Identity{}, fmt.Errorf("%w: unknown token", errs.ErrUnauthenticated)
	}
	name := a.static[match].Name
	return Identity{Subject: "service:" + name, DisplayName: name, Method: MethodServiceToken}, nil
}

// unverifiedIssuer reads the iss claim only to pick the verifier; the verifier checks it.
func unverifiedIssuer(token string) (string, error) {
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", err
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return "", err
	}
	if c.Iss == "" {
		return "", errors.New("no issuer")
	}
	return c.Iss, nil
}
