package idpsync

import (
	"context"
	"strings"
)

// Deactivated reports whether a subject is a user the identity provider has deactivated
// through SCIM. Their tokens (OIDC or Backstage, valid until they expire) must stop working
// at once: Berth checks on every request. Subjects Berth cannot tie to a SCIM userName
// (without the --oidc-user-prefix, or unknown to SCIM) are not deactivated.
func (s *Service) Deactivated(ctx context.Context, subject string) (bool, error) {
	name, ok := strings.CutPrefix(subject, s.userPrefix)
	if !ok || name == "" {
		return false, nil
	}
	known, active, err := s.store.Q().SCIMUserActive(ctx, name)
	return known && !active, err
}
