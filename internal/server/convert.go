package server

import (
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/store"
	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

func mustUUID(s string) uuid.UUID {
	id, err := uuid.Parse(s)
	if err != nil {
		return uuid.Nil
	}
	return id
}

func apiTeam(t store.Team) api.Team {
	return api.Team{Id: openapi_types.UUID(mustUUID(t.ID)), Name: t.Name, DisplayName: t.DisplayName,
		Description: t.Description, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, CreatedBy: t.CreatedBy}
}

func apiMember(m store.Member) api.Member {
	return api.Member{Id: openapi_types.UUID(mustUUID(m.ID)), Team: m.TeamName, Kind: api.SubjectKind(m.Kind),
		Name: m.Name, Role: api.Role(m.Role), CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}
