package cli

import (
	"context"
	"log/slog"

	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/policy"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"k8s.io/client-go/dynamic"
)

// startPolicies loads the library and, with a cluster, keeps its Kyverno objects in step
// with the toggles.
func startPolicies(ctx context.Context, st *store.Store, ten *tenancy.Service, kc *kube.Clients, log *slog.Logger) (*policy.Service, error) {
	lib, err := policy.Load()
	if err != nil {
		return nil, err
	}
	var applier *policy.Applier
	notify := func() {}
	if kc != nil {
		dyn, err := dynamic.NewForConfig(kc.Config)
		if err != nil {
			return nil, err
		}
		applier = policy.NewApplier(dyn, log.With("loop", "policies"))
		notify = applier.Trigger
	}
	svc := policy.NewService(lib, st, ten, notify)
	if applier != nil {
		go applier.Run(ctx, svc)
	}
	return svc, nil
}
