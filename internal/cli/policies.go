package cli

import (
	"context"
	"log/slog"

	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// startPolicies loads the library and, with a cluster fleet, keeps every cluster's Kyverno
// objects in step with the toggles and follows their PolicyReports.
func startPolicies(st *store.Store, ten *tenancy.Service, fleet *tenancy.Fleet, notes map[string]func(context.Context) error, log *slog.Logger) (*policy.Service, error) {
	lib, err := policy.Load()
	if err != nil {
		return nil, err
	}
	var clusters *policy.Clusters
	svc := policy.NewService(lib, st, ten, func() {
		if clusters != nil {
			clusters.Trigger()
		}
	})
	if fleet != nil {
		clusters = policy.NewClusters(svc, log.With("loop", "policies"))
		fleet.Attach(clusters.Attach)
		notes["policies"] = clusters.Check
	}
	return svc, nil
}
