package config

import (
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/berth-platform/berth/internal/gitremote"
)

// GitOps holds the credentials of a remote GitOps repository. Secrets are paths of files
// (mounted Kubernetes Secrets), never values on the command line.
type GitOps struct {
	Username      string
	TokenFile     string
	SSHKeyFile    string
	SSHKnownHosts string
}

// ArgoCD is the optional Argo CD API server that syncs go through.
type ArgoCD struct {
	Server    string
	TokenFile string
	CAFile    string
}

// BlueprintsGit is a Git repository of ServiceBlueprints that platform engineers maintain.
type BlueprintsGit struct {
	Repo    string
	Ref     string
	Path    string
	Refresh time.Duration
}

func bindGitOps(fs *flag.FlagSet, c *Config) {
	fs.StringVar(&c.GitOps.Username, "gitops-username", "git", "user name for an HTTPS GitOps repository (with --gitops-token-file)")
	fs.StringVar(&c.GitOps.TokenFile, "gitops-token-file", "", "file holding the token (or password) of an HTTPS GitOps repository")
	fs.StringVar(&c.GitOps.SSHKeyFile, "gitops-ssh-key-file", "", "file holding the SSH private key (PEM, no passphrase) of an SSH GitOps repository")
	fs.StringVar(&c.GitOps.SSHKnownHosts, "gitops-ssh-known-hosts", "", "known_hosts file that the SSH GitOps server's host key must be in (required with --gitops-ssh-key-file)")
	fs.StringVar(&c.ArgoCD.Server, "argocd-server", "", "URL of the Argo CD API server (e.g. https://argocd.example.com); when set, syncs go through its REST API")
	fs.StringVar(&c.ArgoCD.TokenFile, "argocd-token-file", "", "file holding an Argo CD API token for --argocd-server (an account or project token allowed to sync)")
	fs.StringVar(&c.ArgoCD.CAFile, "argocd-ca-file", "", "PEM bundle that signs the Argo CD API server's certificate (default: the system's roots)")
	fs.StringVar(&c.BlueprintsGit.Repo, "blueprints-repo", "", "Git repository of ServiceBlueprint YAML files (local path, https:// or ssh://; the GitOps credentials apply)")
	fs.StringVar(&c.BlueprintsGit.Ref, "blueprints-ref", "main", "branch of --blueprints-repo")
	fs.StringVar(&c.BlueprintsGit.Path, "blueprints-path", ".", "folder inside --blueprints-repo that holds the blueprints")
	fs.DurationVar(&c.BlueprintsGit.Refresh, "blueprints-refresh", 5*time.Minute, "how often --blueprints-repo is fetched again (0: only at start)")
}

// remoteKind classifies a remote flag; empty is the default local repository.
func remoteKind(remote string) (string, error) {
	if remote == "" {
		return gitremote.Local, nil
	}
	return gitremote.Kind(remote)
}

func (c *Config) validateGitOps() []error {
	var errs []error
	kind, err := remoteKind(c.GitOpsRepo)
	if err != nil {
		errs = append(errs, fmt.Errorf("--gitops-repo: %w", err))
	}
	g := c.GitOps
	switch kind {
	case gitremote.HTTPS:
		if g.SSHKeyFile != "" {
			errs = append(errs, errors.New("--gitops-ssh-key-file: the GitOps repository is HTTPS; use --gitops-token-file"))
		}
	case gitremote.SSH:
		if g.TokenFile != "" {
			errs = append(errs, errors.New("--gitops-token-file: the GitOps repository is SSH; use --gitops-ssh-key-file"))
		}
		if g.SSHKeyFile == "" {
			errs = append(errs, errors.New("--gitops-ssh-key-file: required for an SSH GitOps repository"))
		}
		if g.SSHKnownHosts == "" {
			errs = append(errs, errors.New("--gitops-ssh-known-hosts: required for an SSH GitOps repository (host keys are always checked)"))
		}
	default:
		if g.TokenFile != "" || g.SSHKeyFile != "" {
			errs = append(errs, errors.New("--gitops-token-file, --gitops-ssh-key-file: only for an https:// or SSH --gitops-repo"))
		}
	}
	if c.ArgoCD.Server != "" {
		if u, err := url.Parse(c.ArgoCD.Server); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--argocd-server: %q is not an http(s) URL", c.ArgoCD.Server))
		}
		if c.ArgoCD.TokenFile == "" {
			errs = append(errs, errors.New("--argocd-token-file: required with --argocd-server"))
		}
	} else if c.ArgoCD.TokenFile != "" || c.ArgoCD.CAFile != "" {
		errs = append(errs, errors.New("--argocd-token-file, --argocd-ca-file: need --argocd-server"))
	}
	b := c.BlueprintsGit
	if b.Repo != "" {
		if b.Ref == "" || strings.ContainsAny(b.Ref, " ~^:?*[\\") {
			errs = append(errs, fmt.Errorf("--blueprints-ref: %q is not a branch name", b.Ref))
		}
		if strings.HasPrefix(b.Path, "/") || strings.Contains("/"+b.Path+"/", "/../") {
			errs = append(errs, fmt.Errorf("--blueprints-path: %q must be a folder inside the repository", b.Path))
		}
		if b.Refresh < 0 || (b.Refresh > 0 && b.Refresh < 10*time.Second) {
			errs = append(errs, errors.New("--blueprints-refresh: 0 or at least 10s"))
		}
		// The GitOps credentials serve a blueprints repository of the same kind; others must
		// be public, which SSH never is.
		bk, err := remoteKind(b.Repo)
		if err != nil {
			errs = append(errs, fmt.Errorf("--blueprints-repo: %w", err))
		}
		if bk == gitremote.SSH && kind != gitremote.SSH {
			errs = append(errs, errors.New("--blueprints-repo: an SSH repository needs the GitOps repository to be SSH too (its key is used for both)"))
		}
	}
	return errs
}
