package server

import (
	"context"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/tenancy"
)

func (s *Server) AddTeamMember(ctx context.Context, req api.AddTeamMemberRequestObject) (api.AddTeamMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	m, err := s.deps.Tenancy.AddMember(ctx, p, req.Team, tenancy.NewMember{Kind: string(b.Kind), Name: b.Name, Role: access.Role(b.Role)})
	if err != nil {
		return nil, err
	}
	loc := "/api/v1/teams/" + req.Team + "/members/" + m.ID
	return api.AddTeamMember201JSONResponse{Body: apiMember(m), Headers: api.AddTeamMember201ResponseHeaders{Location: &loc}}, nil
}

func (s *Server) GetTeamMember(ctx context.Context, req api.GetTeamMemberRequestObject) (api.GetTeamMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.deps.Tenancy.GetMember(ctx, p, req.Team, req.Member.String())
	if err != nil {
		return nil, err
	}
	return api.GetTeamMember200JSONResponse(apiMember(m)), nil
}

type memberCursor struct {
	Kind string `json:"k"`
	Name string `json:"n"`
}

func (s *Server) ListTeamMembers(ctx context.Context, req api.ListTeamMembersRequestObject) (api.ListTeamMembersResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	var cur memberCursor
	if err := decodeCursor(req.Params.Cursor, &cur); err != nil {
		return nil, err
	}
	f := tenancy.MemberFilter{Kind: deref(req.Params.Kind), Role: deref(req.Params.Role), AfterKind: cur.Kind, AfterName: cur.Name, Limit: limitOf(req.Params.Limit)}
	ms, more, err := s.deps.Tenancy.ListMembers(ctx, p, req.Team, f)
	if err != nil {
		return nil, err
	}
	out := api.MemberList{Items: make([]api.Member, len(ms))}
	for i, m := range ms {
		out.Items[i] = apiMember(m)
	}
	if more {
		last := ms[len(ms)-1]
		out.NextCursor = encodeCursor(memberCursor{Kind: last.Kind, Name: last.Name})
	}
	return api.ListTeamMembers200JSONResponse(out), nil
}

func (s *Server) UpdateTeamMember(ctx context.Context, req api.UpdateTeamMemberRequestObject) (api.UpdateTeamMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	m, err := s.deps.Tenancy.UpdateMemberRole(ctx, p, req.Team, req.Member.String(), access.Role(req.Body.Role))
	if err != nil {
		return nil, err
	}
	return api.UpdateTeamMember200JSONResponse(apiMember(m)), nil
}

func (s *Server) RemoveTeamMember(ctx context.Context, req api.RemoveTeamMemberRequestObject) (api.RemoveTeamMemberResponseObject, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Tenancy.RemoveMember(ctx, p, req.Team, req.Member.String()); err != nil {
		return nil, err
	}
	return api.RemoveTeamMember204Response{}, nil
}
