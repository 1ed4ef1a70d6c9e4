package findings

import (
	"context"
	"log/slog"
	"time"

	"github.com/berth-platform/berth/internal/diagnose"
	"github.com/berth-platform/berth/internal/loop"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/workloads"
)

// Keep is how long a resolved cause is listed and kept.
const Keep = 24 * time.Hour

// Fingerprint names a cause: its code and resource, down to the container.
func Fingerprint(f diagnose.Finding) string {
	return f.Code + "/" + f.Resource.Kind + "/" + f.Resource.Name + "/" + f.Resource.Container
}

type envKey struct{ serviceID, env string }

// Recorder writes the record from the workloads caches.
type Recorder struct {
	store    *store.Store
	registry *workloads.Registry
	log      *slog.Logger
}

// NewRecorder records what registry's caches show.
func NewRecorder(st *store.Store, r *workloads.Registry, log *slog.Logger) *Recorder {
	return &Recorder{store: st, registry: r, log: log}
}

// Run records every interval until ctx ends.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) {
	loop.Every(ctx, interval, true, r.log, "recording findings", r.Tick)
}

// Tick diagnoses every service environment whose cluster's cache is synced and writes what
// changed against the record: causes that appeared, and causes that resolved (also those of
// an environment the service no longer runs in). A cluster whose cache is not synced says
// nothing: unknown is not resolved. Then it forgets causes resolved longer than Keep ago.
func (r *Recorder) Tick(ctx context.Context, now time.Time) error {
	q := r.store.Q()
	deployed, err := q.AllDeployed(ctx)
	if err != nil {
		return err
	}
	keys, err := q.HoldingFindings(ctx)
	if err != nil {
		return err
	}
	holding := map[envKey]map[string]bool{}
	for _, k := range keys {
		ek := envKey{k.ServiceID, k.Environment}
		if holding[ek] == nil {
			holding[ek] = map[string]bool{}
		}
		holding[ek][k.Fingerprint] = true
	}
	unknown := map[envKey]bool{}
	for _, d := range deployed {
		k := envKey{d.Service.ID, d.EnvName}
		var c *workloads.Cache
		if d.Found {
			c = r.registry.Get(d.Env.Cluster)
		}
		if c == nil || !c.Synced() {
			unknown[k] = true
			continue
		}
		fs := diagnose.Diagnose(c.Service(d.Env.Namespace, d.Service.Name), now)
		if err := seen(ctx, q, k, fs, func(fp string) bool { return holding[k][fp] }, now); err != nil {
			return err
		}
		if err := resolve(ctx, q, k, fs, holding[k], now); err != nil {
			return err
		}
		delete(holding, k)
	}
	for k, fps := range holding {
		if unknown[k] {
			continue
		}
		if err := resolve(ctx, q, k, nil, fps, now); err != nil {
			return err
		}
	}
	_, err = q.PruneFindings(ctx, now.Add(-Keep))
	return err
}

// seen records the causes of fs that the record does not hold yet.
func seen(ctx context.Context, q store.Queries, k envKey, fs []diagnose.Finding, holds func(fp string) bool, now time.Time) error {
	for _, f := range fs {
		fp := Fingerprint(f)
		if holds(fp) {
			continue
		}
		first := f.FirstSeen
		if first.IsZero() || first.After(now) {
			first = now
		}
		if err := q.FindingSeen(ctx, store.FindingRecord{ServiceID: k.serviceID, Environment: k.env, Fingerprint: fp, Code: f.Code, Severity: f.Severity,
			ResourceKind: f.Resource.Kind, ResourceName: f.Resource.Name, Container: f.Resource.Container, Summary: f.Summary, FirstSeen: first}); err != nil {
			return err
		}
	}
	return nil
}

// resolve records as resolved the held causes that fs does not hold.
func resolve(ctx context.Context, q store.Queries, k envKey, fs []diagnose.Finding, holding map[string]bool, now time.Time) error {
	present := map[string]bool{}
	for _, f := range fs {
		present[Fingerprint(f)] = true
	}
	for fp := range holding {
		if present[fp] {
			continue
		}
		if err := q.FindingResolved(ctx, k.serviceID, k.env, fp, now); err != nil {
			return err
		}
	}
	return nil
}
