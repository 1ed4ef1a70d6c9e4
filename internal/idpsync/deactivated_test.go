package idpsync_test

import (
	"testing"
	"time"

	"github.com/berth-platform/berth/internal/idpsync"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/store/storetest"
)

func TestDeactivated(t *testing.T) {
	st := storetest.Open(t, "sqlite")
	now := time.Now()
	for _, u := range []store.SCIMUser{{ID: "u1", UserName: "jane@example.com", Active: false}, {ID: "u2", UserName: "bob@example.com", Active: true}} {
		u.Version, u.CreatedAt, u.UpdatedAt = 1, now, now
		if err := st.Q().PutSCIMUser(t.Context(), u, true); err != nil {
			t.Fatal(err)
		}
	}
	s := idpsync.NewService(st, nil, "oidc:", nil, nil)
	for subject, want := range map[string]bool{
		"oidc:jane@example.com": true,  // deactivated
		"oidc:bob@example.com":  false, // active
		"oidc:ann@example.com":  false, // unknown to SCIM
		"jane@example.com":      false, // not an OIDC subject of this prefix
		"oidc:":                 false,
		"user:default/jane":     false,
	} {
		got, err := s.Deactivated(t.Context(), subject)
		if err != nil || got != want {
			t.Errorf("%s: %v %v, want %v", subject, got, err, want)
		}
	}
}
