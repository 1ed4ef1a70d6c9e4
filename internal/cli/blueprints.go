package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/config"
	"github.com/berth-platform/berth/internal/gitops"
	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/berth-platform/berth/internal/loop"
)

// blueprintRepo keeps the catalog's Git layer at the newest commit of the blueprints
// repository. A fetch that fails, or a commit with a broken blueprint, leaves the catalog as
// it was and is reported by readiness until a later commit fixes it.
type blueprintRepo struct {
	mirror  *gitops.Mirror
	catalog *blueprint.Catalog
	path    string
	log     *slog.Logger

	mu      sync.Mutex
	applied string
	lastErr error
}

func newBlueprintRepo(c *config.Config, creds gitops.Credentials, catalog *blueprint.Catalog, log *slog.Logger) (*blueprintRepo, error) {
	b := c.BlueprintsGit
	kind, err := gitremote.Kind(b.Repo)
	if err != nil {
		return nil, err
	}
	if gk, _ := gitremote.Kind(c.GitOpsRepo); gk != kind || kind == gitremote.Local {
		creds = gitops.Credentials{} // a public repository of another kind
	}
	auth, err := creds.Auth(b.Repo)
	if err != nil {
		return nil, fmt.Errorf("--blueprints-repo: %w", err)
	}
	dir := filepath.Join(c.DataDir, "blueprints-repo")
	return &blueprintRepo{mirror: gitops.NewMirror(b.Repo, b.Ref, dir, auth), catalog: catalog, path: b.Path, log: log}, nil
}

// sync fetches the branch and, when it moved, loads its blueprints.
func (r *blueprintRepo) sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	sha, err := r.mirror.Sync(ctx)
	if err == nil {
		r.mu.Lock()
		same := sha == r.applied
		r.mu.Unlock()
		if !same {
			err = r.catalog.SetGit(os.DirFS(r.mirror.Dir()), r.path, sha[:12])
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastErr = err
	if err != nil {
		return fmt.Errorf("blueprints repository: %w", err)
	}
	if sha != r.applied {
		r.log.Info("blueprints loaded", "commit", sha)
		r.applied = sha
	}
	return nil
}

// run syncs every interval until ctx ends.
func (r *blueprintRepo) run(ctx context.Context, every time.Duration) {
	loop.Every(ctx, every, false, r.log, "blueprints repository not refreshed", func(ctx context.Context, _ time.Time) error { return r.sync(ctx) })
}

// check is a readiness note: the last sync's error, if any.
func (r *blueprintRepo) check(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lastErr != nil {
		if r.applied == "" {
			return fmt.Errorf("built-in blueprints only: %w", r.lastErr)
		}
		return fmt.Errorf("still at %.12s: %w", r.applied, r.lastErr)
	}
	return nil
}
