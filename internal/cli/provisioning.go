package cli

import (
	"context"
	"log/slog"
	"path/filepath"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
)

// startProvisioning opens the GitOps repository and starts the run executor. Without a
// cluster, runs stop at the Argo CD step and say why.
func startProvisioning(ctx context.Context, c *config.Config, st *store.Store, ten *tenancy.Service, catalog *blueprint.Catalog, kc *kube.Clients, log *slog.Logger) (*provision.Service, error) {
	remote := c.GitOpsRepo
	if remote == "" {
		dir := c.DataDir
		if dir == "" {
			dir = ".berth/data"
		}
		abs, err := filepath.Abs(filepath.Join(dir, "gitops.git"))
		if err != nil {
			return nil, err
		}
		remote = abs
	}
	work := filepath.Join(c.DataDir, "gitops-work")
	repo, err := gitops.Open(ctx, remote, work, nil)
	if err != nil {
		return nil, err
	}
	url := remote
	if filepath.IsAbs(url) {
		url = "file://" + url
	}
	d := provision.Deps{Store: st, Tenancy: ten, Blueprints: catalog, Repo: repo, RepoURL: url, IngressNamespace: c.IngressNamespace,
		ManualSync: c.ManualSync, Log: log.With("loop", "provision")}
	if kc != nil {
		if d.Argo, err = gitops.NewArgoCD(kc.Config, c.ArgoCDNamespace, url); err != nil {
			return nil, err
		}
		d.AsUser = kc.AsUser
	}
	p := provision.New(d)
	go func() {
		if err := p.Run(ctx, 4); err != nil {
			log.Error("provisioning stopped", "error", err)
		}
	}()
	return p, nil
}
