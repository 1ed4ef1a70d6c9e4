package server

import (
	"context"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/signals"
	"github.com/berth-platform/berth/internal/workloads"
)

// Bounds of a signal's range: Prometheus answers at most 11,000 points; a chart needs 300.
const (
	maxSignalPoints     = 1100
	defaultSignalPoints = 300
	minDefaultStep      = 15 * time.Second
)

var signalUnits = map[string]api.SignalValueUnit{
	signals.LatencyP50: api.Seconds, signals.LatencyP95: api.Seconds, signals.LatencyP99: api.Seconds,
	signals.RequestRate: api.Requestss, signals.ErrorRatio: api.Ratio, signals.CPU: api.Cores, signals.Memory: api.Bytes,
}

// signalTarget is the service in env, for the caller (team viewer): its namespace, pods and
// blueprint runtime.
func (s *Server) signalTarget(ctx context.Context, team, service, env string) (signals.Target, error) {
	p, err := principal(ctx)
	if err != nil {
		return signals.Target{}, err
	}
	if s.deps.Signals == nil || s.deps.Workloads == nil {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer); err != nil {
			return signals.Target{}, err
		}
		if s.deps.Workloads == nil {
			return signals.Target{}, fmt.Errorf("%w: signals need a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
		}
		return signals.Target{}, fmt.Errorf("%w: signals need Prometheus; start Berth with --prometheus-url", errs.ErrUnavailable)
	}
	views, err := s.deps.Workloads.Views(ctx, p, team, service)
	if err != nil {
		return signals.Target{}, err
	}
	for _, ev := range views {
		if ev.Env.Name == env {
			return s.targetOf(ev), nil
		}
	}
	return signals.Target{}, fmt.Errorf("%w: service %q does not run in environment %q", errs.ErrNotFound, service, env)
}

func (s *Server) targetOf(ev workloads.EnvironmentView) signals.Target {
	t := signals.Target{Namespace: ev.Env.Namespace, Service: ev.Service.Name, Pods: ev.View.Pods}
	if bp, err := s.deps.Blueprints.Get(ev.Service.Blueprint); err == nil {
		t.Runtime = bp.Spec.Runtime.Language
	}
	return t
}

func (s *Server) GetServiceSignals(ctx context.Context, req api.GetServiceSignalsRequestObject) (api.GetServiceSignalsResponseObject, error) {
	t, err := s.signalTarget(ctx, req.Team, req.Service, req.Params.Environment)
	if err != nil {
		return nil, err
	}
	snap, err := s.deps.Signals.Now(ctx, t, time.Now())
	if err != nil {
		return nil, err
	}
	out := api.ServiceSignals{Environment: req.Params.Environment, At: snap.At, Window: snap.Window, Signals: []api.SignalValue{},
		Cpu: api.ResourceUse{Requested: snap.CPURequested, Limit: snap.CPULimit}, Memory: api.ResourceUse{Requested: snap.MemoryRequested, Limit: snap.MemoryLimit}}
	for _, sig := range snap.Signals {
		v := api.SignalValue{Name: api.SignalName(sig.Name), Unit: signalUnits[sig.Name], Value: sig.Value, Missing: sig.Value == nil, Query: sig.Query}
		if sig.Problem != "" {
			v.Problem = &sig.Problem
		}
		out.Signals = append(out.Signals, v)
	}
	return api.GetServiceSignals200JSONResponse(out), nil
}

func (s *Server) GetServiceSignalRange(ctx context.Context, req api.GetServiceSignalRangeRequestObject) (api.GetServiceSignalRangeResponseObject, error) {
	since := time.Hour
	if req.Params.SinceSeconds != nil {
		since = time.Duration(*req.Params.SinceSeconds) * time.Second
	}
	step := max(since/defaultSignalPoints, minDefaultStep).Round(time.Second)
	if req.Params.Step != nil {
		step = time.Duration(*req.Params.Step) * time.Second
		if since/step > maxSignalPoints {
			return nil, errs.InvalidParam("step", "at most %d points: a step of at least %d s for %s", maxSignalPoints, int((since/maxSignalPoints).Seconds())+1, since)
		}
	}
	t, err := s.signalTarget(ctx, req.Team, req.Service, req.Params.Environment)
	if err != nil {
		return nil, err
	}
	end := time.Now()
	points, query, err := s.deps.Signals.Range(ctx, t, string(req.Signal), end.Add(-since), end, step)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errs.ErrUnavailable, err)
	}
	out := api.SignalRange{Name: req.Signal, Unit: string(signalUnits[string(req.Signal)]), Query: query, Step: int(step.Seconds()), Points: []api.SignalPoint{}}
	for _, p := range points {
		out.Points = append(out.Points, api.SignalPoint{T: p.T, V: p.V})
	}
	return api.GetServiceSignalRange200JSONResponse(out), nil
}
