package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/argocd"
	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/databases"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/berth-platform/berth/internal/kube"
	"github.com/berth-platform/berth/internal/provision"
	"github.com/berth-platform/berth/internal/store"
	"github.com/berth-platform/berth/internal/tenancy"
	"github.com/berth-platform/berth/internal/workloads"
)

// startProvisioning opens the GitOps repository and starts the run executor. Without a
// cluster, runs stop at the Argo CD step and say why. Argo CD's state goes into notes, readiness details that do not make Berth unready: teams
// and blueprints work without it.
func startProvisioning(ctx context.Context, c *config.Config, creds gitops.Credentials, st *store.Store, ten *tenancy.Service, catalog *blueprint.Catalog,
	kc *kube.Clients, fleet *tenancy.Fleet, registry *workloads.Registry, preflight provision.Preflight, notes map[string]func(context.Context) error, log *slog.Logger) (*provision.Service, <-chan struct{}, error) {
	remote := c.GitOpsRepo
	if remote == "" {
		dir := c.DataDir
		if dir == "" {
			dir = ".berth/data"
		}
		remote = filepath.Join(dir, "gitops.git")
	}
	// Argo CD's repo server runs elsewhere: a local repository is named by absolute path.
	if gitremote.IsLocal(remote) && !strings.HasPrefix(remote, "file://") {
		abs, err := filepath.Abs(remote)
		if err != nil {
			return nil, nil, err
		}
		remote = abs
	}
	work := filepath.Join(c.DataDir, "gitops-work")
	auth, err := creds.Auth(remote)
	if err != nil {
		return nil, nil, fmt.Errorf("--gitops-repo: %w", err)
	}
	repo, err := gitops.Open(ctx, remote, work, auth)
	if err != nil {
		return nil, nil, err
	}
	url := remote
	if filepath.IsAbs(url) {
		url = "file://" + url
	}
	d := provision.Deps{Store: st, Tenancy: ten, Blueprints: catalog, Repo: repo, RepoURL: url, IngressNamespace: c.IngressNamespace,
		ManualSync: c.ManualSync, Preflight: preflight, Hosts: hostNamer(c), Log: log.With("loop", "provision"),
		DatabaseClaims: c.Databases.Provider == config.DatabasesCrossplane, DropDatabases: c.Databases.Deletion == "drop",
		RunsPerTeam: c.Runs.PerTeam, RolloutTimeout: c.Runs.RolloutTimeout, GitTimeout: c.Runs.GitTimeout, OutageTimeout: c.Runs.OutageTimeout, Workloads: registry,
		Executor: c.LeaderElectionIdentity}
	if c.Databases.Provider == config.DatabasesPostgres {
		pg, err := postgresDatabases(c.Databases)
		if err != nil {
			return nil, nil, err
		}
		go func() { <-ctx.Done(); _ = pg.Close() }()
		d.Databases = pg
		notes["service-databases"] = pg.Ping
	}
	if kc != nil {
		if d.Argo, err = argocd.New(kc.Config, c.ArgoCDNamespace, url); err != nil {
			return nil, nil, err
		}
		d.Argo.UseCredentials(creds)
		notes["argocd"] = d.Argo.Ready
		if c.ArgoCD.Server != "" {
			token, err := gitops.ReadSecretFile(c.ArgoCD.TokenFile)
			if err != nil {
				return nil, nil, fmt.Errorf("--argocd-token-file: %w", err)
			}
			rest, err := argocd.NewRESTClient(c.ArgoCD.Server, token, c.ArgoCD.CAFile, c.ArgoCDNamespace)
			if err != nil {
				return nil, nil, err
			}
			d.Argo.UseREST(rest)
			notes["argocd-server"] = func(ctx context.Context) error { _, err := rest.Version(ctx); return err }
		}
		d.Argo.Watch(ctx, 30*time.Second)
		d.Cluster = fleet.ClusterConfig
	} else {
		notes["argocd"] = func(context.Context) error { return errors.New("no cluster configured (--kubeconfig or --in-cluster)") }
	}
	p := provision.New(d)
	ten.SetTeardown(p.Teardown)
	ten.SetPlaced(p.Placed)
	if fleet != nil {
		fleet.OnRemove(p.ClusterRemoved)
	}
	// stopped closes once the executor has returned: every executing run has finished the
	// step it was in (a push to the GitOps remote included), so Berth may exit.
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		if err := p.Run(ctx, c.Runs.Workers); err != nil {
			log.Error("provisioning stopped", "error", err)
		}
	}()
	return p, stopped, nil
}

// postgresDatabases is the platform PostgreSQL server services' databases are made on.
func postgresDatabases(d config.Databases) (*databases.Postgres, error) {
	adminURL, err := gitops.ReadSecretFile(d.AdminURLFile)
	if err != nil {
		return nil, fmt.Errorf("--service-databases-admin-url-file: %w", err)
	}
	return databases.NewPostgres(databases.PostgresOptions{AdminURL: adminURL, Host: d.Host, SSLMode: d.SSLMode, PasswordKey: d.PasswordKey})
}

// hostNamer names public hosts as configured: a custom host goes to the first manually synced
// (production) environment a service deploys to.
func hostNamer(c *config.Config) blueprint.HostNamer {
	b := c.Boundary
	return blueprint.HostNamer{Pattern: b.HostPattern, Domains: b.HostDomains, Production: c.ManualSync, TLSIssuer: b.TLSIssuer, TLSSecret: b.TLSSecret}
}

// gitCredentials reads the GitOps repository's credentials from their files.
func gitCredentials(c *config.Config) (gitops.Credentials, error) {
	creds := gitops.Credentials{Username: c.GitOps.Username, KnownHosts: c.GitOps.SSHKnownHosts}
	if c.GitOps.TokenFile != "" {
		t, err := gitops.ReadSecretFile(c.GitOps.TokenFile)
		if err != nil {
			return creds, fmt.Errorf("--gitops-token-file: %w", err)
		}
		creds.Token = t
	}
	if c.GitOps.SSHKeyFile != "" {
		k, err := os.ReadFile(c.GitOps.SSHKeyFile)
		if err != nil {
			return creds, fmt.Errorf("--gitops-ssh-key-file: %w", err)
		}
		creds.SSHKey = k
	}
	return creds, nil
}
