package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/errs"
	"github.com/coreos/go-oidc/v3/oidc"
)

// jwtVerifier checks signature, issuer, audience and expiry of a JWT and maps its claims to
// an Identity. The key set (and, for OIDC, the discovery document) is fetched lazily and
// retried on failure.
type jwtVerifier struct {
	issuer   string
	method   string
	client   *http.Client
	init     func(ctx context.Context) (*oidc.IDTokenVerifier, error)
	identity func(tok *oidc.IDToken) (Identity, error)

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
}

func (v *jwtVerifier) get(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.verifier != nil {
		return v.verifier, nil
	}
	ver, err := v.init(oidc.ClientContext(ctx, v.client))
	if err != nil {
		return nil, err
	}
	v.verifier = ver
	return ver, nil
}

func (v *jwtVerifier) verify(ctx context.Context, token string) (Identity, error) {
	ver, err := v.get(ctx)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s keys unavailable: %v", errs.ErrUnavailable, v.method, err)
	}
	tok, err := ver.Verify(oidc.ClientContext(ctx, v.client), token)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s token: %v", errs.ErrUnauthenticated, v.method, sanitize(err))
	}
	id, err := v.identity(tok)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %s token: %v", errs.ErrUnauthenticated, v.method, err)
	}
	id.Method = v.method
	return id, nil
}

// sanitize keeps go-oidc's reason but never any part of the token.
func sanitize(err error) string {
	var exp *oidc.TokenExpiredError
	if errors.As(err, &exp) {
		return "expired"
	}
	return err.Error()
}

func newBackstageVerifier(jwksURL, issuer, audience string) *jwtVerifier {
	client := &http.Client{Timeout: 10 * time.Second}
	v := &jwtVerifier{issuer: issuer, method: MethodBackstage, client: client}
	v.init = func(ctx context.Context) (*oidc.IDTokenVerifier, error) {
		// The key set lives for the process: it refetches by itself when it meets an unknown kid.
		keys := oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), client), jwksURL)
		return oidc.NewVerifier(issuer, keys, &oidc.Config{ClientID: audience, SupportedSigningAlgs: []string{oidc.ES256}}), nil
	}
	v.identity = func(tok *oidc.IDToken) (Identity, error) {
		var c struct {
			Sub string   `json:"sub"`
			Ent []string `json:"ent"`
		}
		if err := tok.Claims(&c); err != nil {
			return Identity{}, err
		}
		// Backstage speaks for its users only: a sub of another kind (service:ci, system:...)
		// would let a Backstage token pass for another way in.
		if !strings.HasPrefix(c.Sub, "user:") || len(c.Sub) == len("user:") {
			return Identity{}, errors.New("sub claim is not a user entity ref (user:<namespace>/<name>)")
		}
		// ent holds the user's ownership refs: the user itself and the groups it belongs to.
		// Only group refs count as groups.
		var groups []string
		for _, e := range c.Ent {
			if e != c.Sub && strings.HasPrefix(e, "group:") {
				groups = append(groups, e)
			}
		}
		return Identity{Subject: c.Sub, Groups: groups}, nil
	}
	return v
}

// newOIDCVerifier maps IdP tokens to identities in a namespace of their own: every user name
// gets userPrefix and every group groupPrefix (both "oidc:" by default), so an IdP user named
// service:ci or a group named group:default/platform never becomes that principal.
func newOIDCVerifier(issuer, audience, userClaim, groupsClaim, prefix, groupPrefix string) *jwtVerifier {
	client := &http.Client{Timeout: 10 * time.Second}
	v := &jwtVerifier{issuer: issuer, method: MethodOIDC, client: client}
	v.init = func(ctx context.Context) (*oidc.IDTokenVerifier, error) {
		p, err := oidc.NewProvider(oidc.ClientContext(context.WithoutCancel(ctx), client), issuer)
		if err != nil {
			return nil, err
		}
		return p.Verifier(&oidc.Config{ClientID: audience}), nil
	}
	v.identity = func(tok *oidc.IDToken) (Identity, error) {
		var claims map[string]any
		if err := tok.Claims(&claims); err != nil {
			return Identity{}, err
		}
		user, _ := claims[userClaim].(string)
		if user == "" {
			return Identity{}, fmt.Errorf("no %s claim", userClaim)
		}
		id := Identity{Subject: prefix + user}
		if name, ok := claims["name"].(string); ok {
			id.DisplayName = name
		}
		if gs, ok := claims[groupsClaim].([]any); ok {
			for _, g := range gs {
				if s, ok := g.(string); ok && s != "" {
					id.Groups = append(id.Groups, groupPrefix+s)
				}
			}
		}
		return id, nil
	}
	return v
}
