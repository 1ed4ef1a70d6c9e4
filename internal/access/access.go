package access

import (
	"context"
	"slices"

	"github.com/berth-platform/berth/internal/auth"
)

// Role is a team role. Each includes the ones before it.
type Role string

const (
	None   Role = ""
	Viewer Role = "viewer"
	Editor Role = "editor"
	Admin  Role = "admin"
)

func (r Role) rank() int {
	switch r {
	case Viewer:
		return 1
	case Editor:
		return 2
	case Admin:
		return 3
	}
	return 0
}

// AtLeast reports whether r includes need.
func (r Role) AtLeast(need Role) bool { return r.rank() >= need.rank() }

// Valid reports whether r names a role.
func (r Role) Valid() bool { return r.rank() > 0 }

// Highest returns the strongest of roles.
func Highest(roles ...Role) Role {
	best := None
	for _, r := range roles {
		if r.rank() > best.rank() {
			best = r
		}
	}
	return best
}

// Principal is an authenticated caller with what configuration says about them.
type Principal struct {
	auth.Identity
	PlatformAdmin bool
}

// Admins decides who is a platform admin: an entry matches the caller's subject or one of
// their groups, literally (user:default/jane, group:default/platform, service:ci).
type Admins struct {
	entries []string
}

// NewAdmins returns the platform-admin list from configuration.
func NewAdmins(entries []string) *Admins { return &Admins{entries: slices.Clone(entries)} }

// Principal decorates an identity with platform-admin status.
func (a *Admins) Principal(id auth.Identity) Principal {
	p := Principal{Identity: id}
	for _, e := range a.entries {
		if e == id.Subject || slices.Contains(id.Groups, e) {
			p.PlatformAdmin = true
			break
		}
	}
	return p
}

type principalKey struct{}

// WithPrincipal stores the caller in ctx; the server's authentication middleware does it.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the caller stored in ctx.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(Principal)
	return p, ok
}
