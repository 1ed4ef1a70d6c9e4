package gitops

import (
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/berth-platform/berth/internal/gitremote"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
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
