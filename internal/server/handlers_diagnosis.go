package server

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/berth-platform/berth/internal/access"
	"github.com/berth-platform/berth/internal/api"
	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/errs"
	"github.com/berth-platform/berth/internal/findings"
	"github.com/berth-platform/berth/internal/workloads"
	corev1 "k8s.io/api/core/v1"
)

// maxEvents bounds the events of one environment's answer.
const maxEvents = 50

func (s *Server) views(ctx context.Context, team, service string) ([]workloads.EnvironmentView, error) {
	return s.workloads(ctx, team, func(w *workloads.Service, p access.Principal) ([]workloads.EnvironmentView, error) {
		return w.Views(ctx, p, team, service)
	})
}

// workloads reads views for the caller; without a cluster, who may not read the team hears
// that it does not exist, as always, and members why there is nothing.
func (s *Server) workloads(ctx context.Context, team string, read func(*workloads.Service, access.Principal) ([]workloads.EnvironmentView, error)) ([]workloads.EnvironmentView, error) {
	p, err := principal(ctx)
	if err != nil {
		return nil, err
	}
	if s.deps.Workloads == nil {
		if _, err := s.deps.Tenancy.Authorize(ctx, p, team, access.Viewer); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("%w: workloads need a cluster; start Berth with --kubeconfig", errs.ErrUnavailable)
	}
	return read(s.deps.Workloads, p)
}

func (s *Server) GetEnvironmentWorkloads(ctx context.Context, req api.GetEnvironmentWorkloadsRequestObject) (api.GetEnvironmentWorkloadsResponseObject, error) {
	views, err := s.workloads(ctx, req.Team, func(w *workloads.Service, p access.Principal) ([]workloads.EnvironmentView, error) {
		return w.Environment(ctx, p, req.Team, req.Environment)
	})
	if err != nil {
		return nil, err
	}
	now, budget := time.Now(), logReads
	out := api.EnvironmentServices{Services: []api.EnvironmentService{}}
	for _, ev := range views {
		fs, _ := s.findings(ctx, ev, nil, now, &budget)
		out.Services = append(out.Services, api.EnvironmentService{Findings: fs, Service: ev.View.Service, Workloads: apiWorkloads(ev)})
	}
	etag := viewTag(out)
	if matches(req.Params.IfNoneMatch, etag) {
		return api.GetEnvironmentWorkloads304Response{Headers: api.GetEnvironmentWorkloads304ResponseHeaders{ETag: &etag}}, nil
	}
	return api.GetEnvironmentWorkloads200JSONResponse{Body: out, Headers: api.GetEnvironmentWorkloads200ResponseHeaders{ETag: &etag}}, nil
}

func (s *Server) GetServiceWorkloads(ctx context.Context, req api.GetServiceWorkloadsRequestObject) (api.GetServiceWorkloadsResponseObject, error) {
	views, err := s.views(ctx, req.Team, req.Service)
	if err != nil {
		return nil, err
	}
	a, err := s.answers.get(req.Team+"/"+req.Service, stampOf(views), func() any {
		out := api.ServiceWorkloads{Environments: []api.EnvironmentWorkloads{}}
		for _, ev := range views {
			out.Environments = append(out.Environments, apiWorkloads(ev))
		}
		return out
	})
	if err != nil {
		return nil, err
	}
	return encodedAnswer{answer: a, notModified: matches(req.Params.IfNoneMatch, a.etag)}, nil
}

func (s *Server) DiagnoseService(ctx context.Context, req api.DiagnoseServiceRequestObject) (api.DiagnoseServiceResponseObject, error) {
	views, err := s.views(ctx, req.Team, req.Service)
	if err != nil {
		return nil, err
	}
	now, budget := time.Now(), logReads
	out := api.ServiceDiagnosis{}
	for _, ev := range views {
		fs, resolved := s.findings(ctx, ev, s.argoFindings(ctx, ev), now, &budget)
		out.Environments = append(out.Environments, api.EnvironmentDiagnosis{Findings: fs, Resolved: &resolved, Name: ev.Env.Name, Namespace: ev.Env.Namespace, Synced: ev.Synced})
	}
	etag := viewTag(out)
	if matches(req.Params.IfNoneMatch, etag) {
		return api.DiagnoseService304Response{Headers: api.DiagnoseService304ResponseHeaders{ETag: &etag}}, nil
	}
	return api.DiagnoseService200JSONResponse{Body: out, Headers: api.DiagnoseService200ResponseHeaders{ETag: &etag}}, nil
}

// viewTag is the ETag of an answer: a hash of its JSON, so it changes whenever anything in it
// does (a pod's state, a finding's evidence) and a card polling with If-None-Match gets 304s.
func viewTag(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return `"` + hex.EncodeToString(sum[:12]) + `"`
}

func matches(ifNoneMatch *string, etag string) bool {
	return ifNoneMatch != nil && *ifNoneMatch == etag
}

// argoFindings is what Argo CD reports against an environment's Application (a failed or
// refused sync, an error condition), read from its informer; nothing without Argo CD.
func (s *Server) argoFindings(ctx context.Context, ev workloads.EnvironmentView) []diagnose.Finding {
	if s.deps.Provision == nil {
		return nil
	}
	st, err := s.deps.Provision.AppStatus(ctx, ev.Service, ev.Env.Name)
	if err != nil {
		return nil
	}
	return diagnose.Sync(*st)
}

// logReads bounds the logs one request reads for its findings, whatever the number of services
// and environments in the answer; a finding beyond it says so.
const logReads = 6

var errLogBudget = fmt.Errorf("not read: this answer already holds %d logs; diagnose one service for the rest", logReads)

// findings diagnoses a view (and takes extra findings of the environment from elsewhere, Argo
// CD's), with the logs that explain its findings read as the caller (at
// most *budget of them) and the record merged in (a cause's first seen, what resolved); an
// environment whose caches are not synced has none to tell.
func (s *Server) findings(ctx context.Context, ev workloads.EnvironmentView, extra []diagnose.Finding, now time.Time, budget *int) ([]api.Finding, []api.ResolvedFinding) {
	fs, resolved := []api.Finding{}, []api.ResolvedFinding{}
	if !ev.Synced {
		return fs, resolved
	}
	p, _ := principal(ctx) // the view was read as p
	read := func(ctx context.Context, pod, container string, previous bool, restarts int32, n int64) ([]string, error) {
		if *budget <= 0 {
			return nil, errLogBudget
		}
		*budget--
		return s.deps.Workloads.LastLines(ctx, p, ev.Env, pod, container, previous, restarts, n)
	}
	// The record holds what the views show (the recorder sees the same); Argo CD's findings
	// are said as Argo CD reports them now.
	current, recs, err := findings.Merge(ctx, s.deps.Store, ev.Service.ID, ev.Env.Name, diagnose.Diagnose(ev.View, now), now)
	if err != nil {
		// The record only adds age and history: say the current causes without it.
		s.deps.Log.Warn("reading the findings record", "service", ev.View.Service, "environment", ev.Env.Name, "error", err)
	}
	current = diagnose.Sorted(append(current, extra...))
	for _, f := range diagnose.WithLogs(ctx, current, read) {
		fs = append(fs, apiFinding(f))
	}
	for _, r := range recs {
		resolved = append(resolved, api.ResolvedFinding{Code: r.Code, Severity: api.ResolvedFindingSeverity(r.Severity), Summary: r.Summary,
			Resource: api.FindingResource{Kind: r.ResourceKind, Name: r.ResourceName, Container: optional(r.Container)}, FirstSeen: r.FirstSeen, ResolvedAt: r.ResolvedAt})
	}
	return fs, resolved
}

func apiFinding(f diagnose.Finding) api.Finding {
	out := api.Finding{Code: f.Code, Severity: api.FindingSeverity(f.Severity), Summary: f.Summary, Recommendation: f.Recommendation,
		Detail: optional(f.Detail), FirstSeen: optionalTime(f.FirstSeen), LastSeen: optionalTime(f.LastSeen)}
	out.Resource.Kind, out.Resource.Name, out.Resource.Container = f.Resource.Kind, f.Resource.Name, optional(f.Resource.Container)
	for _, e := range f.Evidence {
		ev := api.Evidence{Field: e.Field, Value: e.Value, Source: api.EvidenceSource(e.Source), Reason: optional(e.Reason),
			FirstSeen: optionalTime(e.FirstSeen), LastSeen: optionalTime(e.LastSeen)}
		if len(e.Lines) > 0 {
			ev.Lines = &e.Lines
		}
		if e.Count > 0 {
			n := int(e.Count)
			ev.Count = &n
		}
		out.Evidence = append(out.Evidence, ev)
	}
	return out
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func apiWorkloads(ev workloads.EnvironmentView) api.EnvironmentWorkloads {
	v := ev.View
	out := api.EnvironmentWorkloads{Name: ev.Env.Name, Namespace: ev.Env.Namespace, Cluster: ev.Env.Cluster, Synced: ev.Synced,
		ReplicaSets: []api.ReplicaSetState{}, Pods: []api.PodState{}, Events: []api.WorkloadEvent{}}
	if d := v.Deployment; d != nil {
		ds := &api.DeploymentState{Revision: d.Annotations["deployment.kubernetes.io/revision"], Replicas: int(d.Status.Replicas), ReadyReplicas: int(d.Status.ReadyReplicas),
			UpdatedReplicas: int(d.Status.UpdatedReplicas), AvailableReplicas: int(d.Status.AvailableReplicas), Conditions: []api.WorkloadCondition{}}
		for _, c := range d.Status.Conditions {
			ds.Conditions = append(ds.Conditions, api.WorkloadCondition{Type: string(c.Type), Status: string(c.Status), Reason: optional(c.Reason), Message: optional(c.Message)})
		}
		out.Deployment = ds
	}
	for _, rs := range v.ReplicaSets {
		out.ReplicaSets = append(out.ReplicaSets, api.ReplicaSetState{Name: rs.Name, Revision: int(workloads.Revision(rs)), Replicas: int(rs.Status.Replicas), ReadyReplicas: int(rs.Status.ReadyReplicas)})
	}
	for _, p := range v.Pods {
		out.Pods = append(out.Pods, apiPod(p))
	}
	if h := v.HPA; h != nil {
		minR := 1
		if h.Spec.MinReplicas != nil {
			minR = int(*h.Spec.MinReplicas)
		}
		out.Hpa = &api.HPAState{Current: int(h.Status.CurrentReplicas), Desired: int(h.Status.DesiredReplicas), Min: minR, Max: int(h.Spec.MaxReplicas)}
	}
	for i, e := range v.Events {
		if i == maxEvents {
			break
		}
		first, last := workloads.FirstSeen(e), workloads.LastSeen(e)
		out.Events = append(out.Events, api.WorkloadEvent{Type: e.Type, Reason: e.Reason, Message: e.Message, Object: e.InvolvedObject.Kind + "/" + e.InvolvedObject.Name,
			Count: int(workloads.Count(e)), FirstSeen: &first, LastSeen: last})
	}
	return out
}

func apiPod(p *corev1.Pod) api.PodState {
	ps := api.PodState{Name: p.Name, Phase: string(p.Status.Phase), CreatedAt: p.CreationTimestamp.Time, Node: optional(p.Spec.NodeName), Containers: []api.ContainerState{}}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			ps.Ready = c.Status == corev1.ConditionTrue
		}
	}
	images := map[string]string{}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		images[c.Name] = c.Image
	}
	add := func(cs corev1.ContainerStatus, init bool) {
		c := api.ContainerState{Name: cs.Name, Image: images[cs.Name], Ready: cs.Ready, Restarts: int(cs.RestartCount), State: api.ContainerStateStateUnknown}
		if init {
			c.Init = &init
		}
		switch st := cs.State; {
		case st.Waiting != nil:
			c.State, c.Reason, c.Message = api.ContainerStateStateWaiting, optional(st.Waiting.Reason), optional(st.Waiting.Message)
		case st.Running != nil:
			c.State = api.ContainerStateStateRunning
		case st.Terminated != nil:
			c.State, c.Reason, c.Message = api.ContainerStateStateTerminated, optional(st.Terminated.Reason), optional(st.Terminated.Message)
		}
		if t := cs.LastTerminationState.Terminated; t != nil {
			code := int(t.ExitCode)
			last := "terminated"
			c.LastState, c.LastReason, c.LastExitCode = &last, optional(t.Reason), &code
		}
		ps.Restarts += int(cs.RestartCount)
		ps.Containers = append(ps.Containers, c)
	}
	for _, cs := range p.Status.InitContainerStatuses {
		add(cs, true)
	}
	for _, cs := range p.Status.ContainerStatuses {
		add(cs, false)
	}
	return ps
}
