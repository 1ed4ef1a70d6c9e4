// Package gitops owns the GitOps repository: committing a service's rendered files as the
// person who asked (go-git; a local bare repository by default, HTTPS or SSH remotes in
// production), with every concurrent commit landing. Argo CD, not Berth, applies what is
// committed; the Application objects are internal/argocd's.
package gitops

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/berth-platform/berth/internal/blueprint"
	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Branch is the branch Berth commits to and Argo CD follows.
const Branch = "main"

// Author is who a commit is made for.
type Author struct {
	Name, Email string
}

// Change is one commit: files to write (whole contents) and folders to remove.
type Change struct {
	Write   []blueprint.File
	Remove  []string // folders, e.g. teams/payments/services/old-api
	Message string
	Author  Author
}

// Repo is a working copy of the GitOps repository that pushes every commit to its remote.
type Repo struct {
	url  string
	dir  string
	auth transport.AuthMethod

	mu   sync.Mutex // one commit at a time per working copy; other writers are handled by retry
	repo *git.Repository
}

// Open prepares a working copy of remote in dir. A remote that is a local path and does not
// exist yet is created as a bare repository with an initial commit.
func Open(ctx context.Context, remote, dir string, auth transport.AuthMethod) (*Repo, error) {
	if gitremote.IsLocal(remote) {
		if err := ensureBare(remote); err != nil {
			return nil, err
		}
	}
	r := &Repo{url: remote, dir: dir, auth: auth}
	repo, err := git.PlainOpen(dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: remote, Auth: auth, ReferenceName: plumbing.NewBranchReferenceName(Branch), SingleBranch: true})
	}
	if err != nil {
		return nil, fmt.Errorf("gitops working copy of %s: %w", gitremote.Redact(remote), err)
	}
	r.repo = repo
	return r, nil
}

// ensureBare creates a bare repository whose main branch has one commit, so that clones and
// Argo CD have something to follow.
func ensureBare(remote string) error {
	path := strings.TrimPrefix(remote, "file://")
	if bare, err := git.PlainOpen(path); err == nil {
		if _, err := bare.Reference(plumbing.NewBranchReferenceName(Branch), true); err == nil {
			return nil // exists and has the branch
		}
	}
	if _, err := git.PlainInit(path, true); err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
		return fmt.Errorf("create gitops repository %s: %w", path, err)
	}
	seed, err := os.MkdirTemp("", "berth-gitops-seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(seed)
	repo, err := git.PlainInit(seed, false)
	if err != nil {
		return err
	}
	if err := repo.Storer.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, plumbing.NewBranchReferenceName(Branch))); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(seed, "README.md"), []byte(readme), 0o644); err != nil {
		return err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return err
	}
	if _, err := wt.Add("README.md"); err != nil {
		return err
	}
	sig := &object.Signature{Name: "Berth", Email: "berth@localhost", When: time.Now()}
	if _, err := wt.Commit("Start the GitOps repository", &git.CommitOptions{Author: sig, Committer: sig}); err != nil {
		return err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{path}}); err != nil {
		return err
	}
	return repo.Push(&git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{config.RefSpec("refs/heads/" + Branch + ":refs/heads/" + Branch)}})
}

const readme = `# GitOps repository managed by Berth

teams/<team>/services/<service>/base/            the service's Kubernetes objects (kustomize base)
teams/<team>/services/<service>/overlays/<env>/  one overlay per team environment (namespace, labels, Ingress)
teams/<team>/services/<service>/infra/           infrastructure requests (database claims)

Argo CD applies every overlay; Berth commits here as the person who asked.
`

// maxAttempts bounds how often a commit is re-applied after losing a push race.
const maxAttempts = 8

// Commit applies a change on top of the remote's latest commit and pushes it; when another
// writer pushed first, it fetches and re-applies the change (files are whole contents, so
// re-applying is exact). It returns the new commit's hash; a change that changes nothing
// returns the current hash and makes no commit.
func (r *Repo) Commit(ctx context.Context, c Change) (string, error) {
	// A commit is short and must not be cut off midway: go-git's file transport can hang when
	// its context ends during a push, and a half-done commit helps nobody. It gets a bounded
	// time of its own instead of the caller's cancellation.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	r.mu.Lock()
	defer r.mu.Unlock()
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		sha, err := r.commitOnce(ctx, c)
		if err == nil {
			return sha, nil
		}
		if !lostRace(err) {
			return "", err
		}
		last = err
		time.Sleep(time.Duration(attempt*attempt) * 20 * time.Millisecond)
	}
	return "", fmt.Errorf("gitops: could not push after %d attempts: %w", maxAttempts, last)
}

func (r *Repo) commitOnce(ctx context.Context, c Change) (string, error) {
	err := r.repo.FetchContext(ctx, &git.FetchOptions{Auth: r.auth, Force: true,
		RefSpecs: []config.RefSpec{config.RefSpec("+refs/heads/" + Branch + ":refs/remotes/origin/" + Branch)}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", remoteError("fetch", err, "")
	}
	remote, err := r.repo.Reference(plumbing.NewRemoteReferenceName("origin", Branch), true)
	if err != nil {
		return "", err
	}
	wt, err := r.repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: remote.Hash(), Mode: git.HardReset}); err != nil {
		return "", fmt.Errorf("reset: %w", err)
	}
	for _, dir := range c.Remove {
		if err := safe(dir); err != nil {
			return "", err
		}
		if err := os.RemoveAll(filepath.Join(r.dir, dir)); err != nil {
			return "", err
		}
	}
	for _, f := range c.Write {
		if err := safe(f.Path); err != nil {
			return "", err
		}
		p := filepath.Join(r.dir, f.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, f.Content, 0o644); err != nil {
			return "", err
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("add: %w", err)
	}
	status, err := wt.Status()
	if err != nil {
		return "", err
	}
	if status.IsClean() {
		return remote.Hash().String(), nil
	}
	now := time.Now()
	author := &object.Signature{Name: c.Author.Name, Email: c.Author.Email, When: now}
	committer := &object.Signature{Name: "Berth", Email: "berth@localhost", When: now}
	sha, err := wt.Commit(c.Message, &git.CommitOptions{Author: author, Committer: committer})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	// What the remote writes while refusing (a hook's message) arrives on the progress channel.
	var said strings.Builder
	err = r.repo.PushContext(ctx, &git.PushOptions{Auth: r.auth, RemoteName: "origin", Progress: &limited{w: &said, n: 4096},
		RefSpecs: []config.RefSpec{config.RefSpec("refs/heads/" + Branch + ":refs/heads/" + Branch)}})
	if err != nil {
		return "", remoteError("push", err, said.String())
	}
	return sha.String(), nil
}

// limited writes to w until n bytes are written, and drops the rest.
type limited struct {
	w *strings.Builder
	n int
}

func (l *limited) Write(p []byte) (int, error) {
	if room := l.n - l.w.Len(); room > 0 {
		l.w.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// safe refuses paths that would leave the repository.
func safe(p string) error {
	clean := filepath.Clean(p)
	if p == "" || filepath.IsAbs(p) || clean == "." || strings.HasPrefix(clean, "..") || strings.Contains(p, "\\") || strings.HasPrefix(clean, ".git") {
		return fmt.Errorf("gitops: refusing path %q", p)
	}
	return nil
}

// lostRace reports whether a push failed because another writer updated the branch first
// (a non-fast-forward, or a local remote's ref lock taken by a concurrent push).
func lostRace(err error) bool {
	if errors.Is(err, git.ErrNonFastForwardUpdate) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"non-fast-forward", "failed to update ref", "reference has changed concurrently", "cannot lock ref", "fetch first"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// Includes reports whether commit rev contains commit sha (is it or descends from it): Argo
// CD reports the branch's newest revision, which may be later than the commit a run made.
func (r *Repo) Includes(ctx context.Context, rev, sha string) (bool, error) {
	if rev == sha {
		return true, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	head, err := r.repo.CommitObject(plumbing.NewHash(rev))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		err = r.repo.FetchContext(ctx, &git.FetchOptions{Auth: r.auth, Force: true,
			RefSpecs: []config.RefSpec{config.RefSpec("+refs/heads/" + Branch + ":refs/remotes/origin/" + Branch)}})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return false, err
		}
		head, err = r.repo.CommitObject(plumbing.NewHash(rev))
	}
	if err != nil {
		return false, err
	}
	base, err := r.repo.CommitObject(plumbing.NewHash(sha))
	if err != nil {
		return false, err
	}
	return base.IsAncestor(head)
}

// HasPath reports whether the remote's newest commit holds path (a file or folder).
func (r *Repo) HasPath(ctx context.Context, path string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.repo.FetchContext(ctx, &git.FetchOptions{Auth: r.auth, Force: true,
		RefSpecs: []config.RefSpec{config.RefSpec("+refs/heads/" + Branch + ":refs/remotes/origin/" + Branch)}})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return false, fmt.Errorf("fetch: %w", err)
	}
	ref, err := r.repo.Reference(plumbing.NewRemoteReferenceName("origin", Branch), true)
	if err != nil {
		return false, err
	}
	commit, err := r.repo.CommitObject(ref.Hash())
	if err != nil {
		return false, err
	}
	tree, err := commit.Tree()
	if err != nil {
		return false, err
	}
	if _, err := tree.FindEntry(path); err != nil {
		if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}
