package gitops

import (
	"context"
	"errors"
	"fmt"

	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Mirror keeps a read-only copy of one branch of a repository (the blueprints repository)
// in a local folder.
type Mirror struct {
	url, branch, dir string
	auth             transport.AuthMethod
}

// NewMirror returns a mirror of remote's branch in dir; nothing is fetched until Sync.
func NewMirror(remote, branch, dir string, auth transport.AuthMethod) *Mirror {
	return &Mirror{url: remote, branch: branch, dir: dir, auth: auth}
}

// Dir is the folder whose files are the branch's newest synced commit.
func (m *Mirror) Dir() string { return m.dir }

// Sync fetches the branch and checks its newest commit out, discarding anything else in the
// folder, and returns that commit.
func (m *Mirror) Sync(ctx context.Context) (string, error) {
	ref := plumbing.NewBranchReferenceName(m.branch)
	repo, err := git.PlainOpen(m.dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		repo, err = git.PlainCloneContext(ctx, m.dir, false, &git.CloneOptions{URL: m.url, Auth: m.auth, ReferenceName: ref, SingleBranch: true, Depth: 1})
		if err != nil {
			return "", fmt.Errorf("clone %s (%s): %w", gitremote.Redact(m.url), m.branch, err)
		}
	} else if err != nil {
		return "", err
	} else {
		err = repo.FetchContext(ctx, &git.FetchOptions{Auth: m.auth, Force: true, Depth: 1,
			RefSpecs: []config.RefSpec{config.RefSpec("+" + ref.String() + ":refs/remotes/origin/" + m.branch)}})
		if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
			return "", fmt.Errorf("fetch %s (%s): %w", gitremote.Redact(m.url), m.branch, err)
		}
	}
	head, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", m.branch), true)
	if err != nil {
		return "", err
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: head.Hash(), Mode: git.HardReset}); err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}
