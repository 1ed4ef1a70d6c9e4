package server

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/schedule"
	"github.com/berth-platform/berth/internal/sleep"
	"github.com/berth-platform/berth/internal/sleeper"
	openapi_types "github.com/oapi-codegen/runtime/types"
)

// sleeper is the caller and the schedules' service.
func (s *Server) sleeper(ctx context.Context) (access.Principal, *sleeper.Service, error) {
	p, err := principal(ctx)
	if err != nil {
		return p, nil, err
	}
	if s.deps.Sleeper == nil {
		return p, nil, fmt.Errorf("%w: sleep schedules are not served here", errs.ErrUnavailable)
	}
	return p, s.deps.Sleeper, nil
}

func apiSchedule(v sleeper.View) api.EnvironmentSchedule {
	out := api.EnvironmentSchedule{Environment: v.Environment, Schedule: apiSleepSchedule(v.Schedule),
		State: api.EnvironmentScheduleState(v.State), Wanted: api.EnvironmentScheduleWanted(v.Wanted)}
	if o := v.Schedule.Override; o != nil {
		until := o.Until
		out.Override = &api.SleepOverride{State: api.SleepOverrideState(o.State), Until: &until}
	}
	if !v.Next.IsZero() {
		out.Next = &struct {
			At    time.Time                        `json:"at"`
			State api.EnvironmentScheduleNextState `json:"state"`
		}{v.Next, api.EnvironmentScheduleNextState(v.NextState)}
	}
	if l := v.Last; l != nil {
		out.LastTransition = &struct {
			At      time.Time                                  `json:"at"`
			Changed []api.SleepChange                          `json:"changed"`
			Left    []api.SleepChange                          `json:"left"`
			State   api.EnvironmentScheduleLastTransitionState `json:"state"`
		}{l.At, apiChanges(l.Changed), apiChanges(l.Left), api.EnvironmentScheduleLastTransitionState(l.State)}
	}
	if v.Problem != "" {
		out.Problem = &v.Problem
	}
	if sv := v.Savings; sv != nil {
		out.Savings = &struct {
			AsleepHours float64 `json:"asleepHours"`
			Next30Days  float64 `json:"next30Days"`
			PerHour     float64 `json:"perHour"`
		}{sv.AsleepHours, sv.Ahead, sv.PerHour}
	}
	return out
}

func apiChanges(cs []sleep.Change) []api.SleepChange {
	out := make([]api.SleepChange, 0, len(cs))
	for _, c := range cs {
		x := api.SleepChange{Kind: c.Kind, Name: c.Name, From: c.From, To: c.To}
		if c.Note != "" {
			x.Note = &c.Note
		}
		out = append(out, x)
	}
	return out
}

func apiSleepSchedule(s schedule.Schedule) api.SleepSchedule {
	out := api.SleepSchedule{TimeZone: s.TimeZone, Awake: []api.SleepWindow{}}
	for _, w := range s.Awake {
		days := make([]api.SleepWindowDays, len(w.Days))
		for i, d := range w.Days {
			days[i] = api.SleepWindowDays(d)
		}
		out.Awake = append(out.Awake, api.SleepWindow{Days: days, From: w.From, To: w.To})
	}
	if len(s.Holidays) > 0 {
		h := make([]openapi_types.Date, 0, len(s.Holidays))
		for _, d := range s.Holidays {
			t, _ := time.Parse(time.DateOnly, d)
			h = append(h, openapi_types.Date{Time: t})
		}
		out.Holidays = &h
	}
	return out
}

func (s *Server) GetEnvironmentSchedule(ctx context.Context, req api.GetEnvironmentScheduleRequestObject) (api.GetEnvironmentScheduleResponseObject, error) {
	p, sl, err := s.sleeper(ctx)
	if err != nil {
		return nil, err
	}
	v, err := sl.Get(ctx, p, req.Team, req.Environment)
	if err != nil {
		return nil, err
	}
	return api.GetEnvironmentSchedule200JSONResponse(apiSchedule(v)), nil
}

func (s *Server) SetEnvironmentSchedule(ctx context.Context, req api.SetEnvironmentScheduleRequestObject) (api.SetEnvironmentScheduleResponseObject, error) {
	p, sl, err := s.sleeper(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	sch := schedule.Schedule{TimeZone: b.TimeZone}
	for _, w := range b.Awake {
		days := make([]string, len(w.Days))
		for i, d := range w.Days {
			days[i] = string(d)
		}
		sch.Awake = append(sch.Awake, schedule.Window{Days: days, From: w.From, To: w.To})
	}
	if b.Holidays != nil {
		for _, d := range *b.Holidays {
			sch.Holidays = append(sch.Holidays, d.Format(time.DateOnly))
		}
	}
	v, err := sl.Put(ctx, p, req.Team, req.Environment, sch)
	if err != nil {
		return nil, err
	}
	return api.SetEnvironmentSchedule200JSONResponse(apiSchedule(v)), nil
}

func (s *Server) DeleteEnvironmentSchedule(ctx context.Context, req api.DeleteEnvironmentScheduleRequestObject) (api.DeleteEnvironmentScheduleResponseObject, error) {
	p, sl, err := s.sleeper(ctx)
	if err != nil {
		return nil, err
	}
	if err := sl.Delete(ctx, p, req.Team, req.Environment); err != nil {
		return nil, err
	}
	return api.DeleteEnvironmentSchedule204Response{}, nil
}

func (s *Server) OverrideEnvironmentSchedule(ctx context.Context, req api.OverrideEnvironmentScheduleRequestObject) (api.OverrideEnvironmentScheduleResponseObject, error) {
	p, sl, err := s.sleeper(ctx)
	if err != nil {
		return nil, err
	}
	b := req.Body
	var until time.Time
	switch {
	case b.Until != nil && b.Hours != nil:
		return nil, errs.Invalid("/hours", "give until or hours, not both")
	case b.Until != nil:
		until = *b.Until
	case b.Hours != nil:
		until = sl.Now().Add(time.Duration(*b.Hours) * time.Hour).Truncate(time.Second)
	default:
		return nil, errs.Invalid("/until", "give until (a time) or hours (from now)")
	}
	v, err := sl.Override(ctx, p, req.Team, req.Environment, &schedule.Override{State: schedule.State(b.State), Until: until})
	if err != nil {
		return nil, err
	}
	return api.OverrideEnvironmentSchedule200JSONResponse(apiSchedule(v)), nil
}

func (s *Server) ClearEnvironmentScheduleOverride(ctx context.Context, req api.ClearEnvironmentScheduleOverrideRequestObject) (api.ClearEnvironmentScheduleOverrideResponseObject, error) {
	p, sl, err := s.sleeper(ctx)
	if err != nil {
		return nil, err
	}
	v, err := sl.Override(ctx, p, req.Team, req.Environment, nil)
	if err != nil {
		return nil, err
	}
	return api.ClearEnvironmentScheduleOverride200JSONResponse(apiSchedule(v)), nil
}
