package policy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
)

// Clusters applies the settings to every cluster of the fleet and follows each cluster's
// PolicyReports: its Attach is a tenancy.Fleet attachment, so registered clusters get the
// policies as soon as they join and stop being watched when they leave.
type Clusters struct {
	// ReadyGrace overrides the appliers' (tests).
	ReadyGrace time.Duration

	svc     *Service
	reports *Reports
	log     *slog.Logger

	mu       sync.Mutex
	appliers map[string]*Applier
}

// NewClusters returns the fan-out for svc; it also makes svc read violations from it.
func NewClusters(svc *Service, log *slog.Logger) *Clusters {
	c := &Clusters{svc: svc, reports: NewReports(log), log: log, appliers: map[string]*Applier{}}
	svc.UseReports(c.reports)
	return c
}

// Attach applies policies to one cluster and watches its reports until ctx ends.
func (c *Clusters) Attach(ctx context.Context, cluster string, cfg *rest.Config) {
	log := c.log.With("cluster", clusterLabel(cluster))
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		log.Error("cannot apply policies", "error", err)
		return
	}
	a := NewApplier(dyn, log)
	if c.ReadyGrace > 0 {
		a.ReadyGrace = c.ReadyGrace
	}
	c.mu.Lock()
	c.appliers[cluster] = a
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.appliers[cluster] == a {
			delete(c.appliers, cluster)
		}
		c.mu.Unlock()
	}()
	go c.reports.Watch(ctx, cluster, cfg)
	a.Run(ctx, c.svc)
}

// Trigger asks every cluster's applier to apply soon (a toggle changed).
func (c *Clusters) Trigger() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range c.appliers {
		a.Trigger()
	}
}

// Check says, for readiness, which clusters lack their policies or their reports, or have
// no Kyverno answering its webhooks.
func (c *Clusters) Check(ctx context.Context) error {
	c.mu.Lock()
	var problems []string
	probes := map[string]dynamic.Interface{}
	for cluster, a := range c.appliers {
		probes[cluster] = a.dyn
		if err := a.Err(); err != nil {
			problems = append(problems, fmt.Sprintf("cluster %s: policies not applied: %v", clusterLabel(cluster), err))
		}
		if names := a.NotReady(); len(names) > 0 {
			problems = append(problems, fmt.Sprintf("cluster %s: Kyverno has not made %d policies ready (%s): is Kyverno running there?",
				clusterLabel(cluster), len(names), strings.Join(names[:min(3, len(names))], ", ")))
		}
	}
	c.mu.Unlock()
	// Clusters are asked at once: one that does not answer costs its timeout, not everyone's.
	var wg sync.WaitGroup
	var pmu sync.Mutex
	for cluster, dyn := range probes {
		wg.Go(func() {
			if err := WebhooksAnswer(ctx, dyn); err != nil {
				pmu.Lock()
				problems = append(problems, fmt.Sprintf("cluster %s: %v", clusterLabel(cluster), err))
				pmu.Unlock()
			}
		})
	}
	wg.Wait()
	for cluster, p := range c.reports.Problems() {
		problems = append(problems, fmt.Sprintf("cluster %s: %s", clusterLabel(cluster), p))
	}
	if len(problems) == 0 {
		return nil
	}
	slices.Sort(problems)
	return errors.New(strings.Join(problems, "; "))
}
