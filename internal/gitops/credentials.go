package gitops

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Credentials reach a remote Git repository: a token (or password) over HTTPS, or an SSH
// key checked against a known_hosts file. The zero value means none (local paths, public
// repositories).
type Credentials struct {
	Username string // HTTPS user name; most hosts accept anything with a token ("git")
	Token    string
	// SSHKey is a PEM private key; KnownHosts is the path of a known_hosts file. Host keys
	// are always checked: there is no option to skip that.
	SSHKey     []byte
	KnownHosts string
}

// Auth builds go-git's authentication for remote from c, refusing combinations that cannot
// work (a token for an SSH remote, an SSH key without known hosts).
func (c Credentials) Auth(remote string) (transport.AuthMethod, error) {
	kind, err := gitremote.Kind(remote)
	if err != nil {
		return nil, err
	}
	switch kind {
	case gitremote.HTTPS:
		if len(c.SSHKey) > 0 {
			return nil, fmt.Errorf("git remote %s is HTTPS: an SSH key does not apply", gitremote.Redact(remote))
		}
		if c.Token == "" {
			return nil, nil
		}
		user := c.Username
		if user == "" {
			user = "git"
		}
		return &githttp.BasicAuth{Username: user, Password: c.Token}, nil
	case gitremote.SSH:
		if c.Token != "" {
			return nil, fmt.Errorf("git remote %s is SSH: a token does not apply (give an SSH key)", gitremote.Redact(remote))
		}
		if len(c.SSHKey) == 0 {
			return nil, fmt.Errorf("git remote %s is SSH: an SSH key is required", gitremote.Redact(remote))
		}
		if c.KnownHosts == "" {
			return nil, fmt.Errorf("git remote %s is SSH: a known_hosts file is required to check the server's key", gitremote.Redact(remote))
		}
		keys, err := gitssh.NewPublicKeys(sshUser(remote), c.SSHKey, "")
		if err != nil {
			return nil, fmt.Errorf("ssh key: %w", err)
		}
		if keys.HostKeyCallback, err = gitssh.NewKnownHostsCallback(c.KnownHosts); err != nil {
			return nil, fmt.Errorf("known_hosts %s: %w", c.KnownHosts, err)
		}
		return keys, nil
	}
	if c.Token != "" || len(c.SSHKey) > 0 {
		return nil, fmt.Errorf("git remote %s is a local path: credentials do not apply", remote)
	}
	return nil, nil
}

func sshUser(remote string) string {
	if u, err := url.Parse(remote); err == nil && u.Scheme == "ssh" && u.User != nil {
		return u.User.Username()
	}
	if at := strings.Index(remote, "@"); at > 0 && !strings.Contains(remote, "://") {
		return remote[:at] // user@host:path
	}
	return "git"
}

// ReadSecretFile reads a credential from a file (a mounted Secret), without its trailing
// newline.
func ReadSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// RepositorySecretName is the Secret that gives Argo CD access to the GitOps repository.
const RepositorySecretName = "berth-gitops-repository"

// UseCredentials gives the adapter the GitOps repository's credentials, which
// EnsureRepository hands to Argo CD.
func (a *ArgoCD) UseCredentials(c Credentials) { a.creds = c }

// EnsureRepository gives Argo CD the credentials of a remote GitOps repository, as a
// repository Secret in its namespace (Argo CD's declarative setup); without credentials it
// does nothing. For SSH, Argo CD checks host keys against its own argocd-ssh-known-hosts-cm,
// which the platform team maintains.
func (a *ArgoCD) EnsureRepository(ctx context.Context) error {
	c, namespace, repoURL := a.creds, a.namespace, a.repoURL
	if c.Token == "" && len(c.SSHKey) == 0 {
		return nil
	}
	data := map[string]string{"type": "git", "url": repoURL}
	if c.Token != "" {
		user := c.Username
		if user == "" {
			user = "git"
		}
		data["username"], data["password"] = user, c.Token
	} else {
		data["sshPrivateKey"] = string(c.SSHKey)
	}
	want := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: RepositorySecretName, Namespace: namespace,
		Labels: map[string]string{"argocd.argoproj.io/secret-type": "repository", "app.kubernetes.io/managed-by": "berth"}}, StringData: data}
	secrets := a.core.CoreV1().Secrets(namespace)
	cur, err := secrets.Get(ctx, RepositorySecretName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		_, err = secrets.Create(ctx, want, metav1.CreateOptions{})
		return err
	}
	if err != nil {
		return err
	}
	same := len(cur.Data) == len(data)
	for k, v := range data {
		same = same && string(cur.Data[k]) == v
	}
	if same && cur.Labels["argocd.argoproj.io/secret-type"] == "repository" {
		return nil
	}
	cur.Labels, cur.Data, cur.StringData = want.Labels, nil, data
	_, err = secrets.Update(ctx, cur, metav1.UpdateOptions{})
	return err
}
