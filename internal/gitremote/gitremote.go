// Package gitremote classifies Git remote addresses. It has no dependencies, so that the
// configuration checks flags with the same rules the GitOps code connects with.
package gitremote

import (
	"fmt"
	"strings"
)

// Kinds of remote.
const (
	Local = "local" // a path (absolute or relative) or file://
	HTTPS = "https" // https:// or http://
	SSH   = "ssh"   // ssh:// or user@host:path
)

// Kind classifies a remote.
func Kind(remote string) (string, error) {
	switch {
	case remote == "":
		return "", fmt.Errorf("git remote: empty")
	case strings.HasPrefix(remote, "file://"):
		return Local, nil
	case strings.HasPrefix(remote, "https://"), strings.HasPrefix(remote, "http://"):
		return HTTPS, nil
	case strings.HasPrefix(remote, "ssh://"), scpLike(remote):
		return SSH, nil
	case strings.Contains(remote, "://"):
		return "", fmt.Errorf("git remote %q: want a local path, file://, https://, ssh:// or user@host:path", Redact(remote))
	}
	return Local, nil
}

// IsLocal reports whether remote is a path or file:// URL.
func IsLocal(remote string) bool {
	k, err := Kind(remote)
	return err == nil && k == Local
}

// scpLike matches git@github.com:org/repo.git.
func scpLike(s string) bool {
	at, colon := strings.Index(s, "@"), strings.Index(s, ":")
	return at > 0 && colon > at && !strings.Contains(s[:colon], "/")
}

// Redact hides credentials in a URL for messages.
func Redact(u string) string {
	if i := strings.Index(u, "@"); i > 0 && strings.Contains(u[:i], "://") {
		return u[:strings.Index(u, "://")+3] + "***" + u[i:]
	}
	return u
}
