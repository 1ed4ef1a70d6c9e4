package argocd

import (
	"context"

	"github.com/berth-platform/berth/internal/gitops"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// RepositorySecretName is the Secret that gives Argo CD access to the GitOps repository.
const RepositorySecretName = "berth-gitops-repository"

// UseCredentials gives the adapter the GitOps repository's credentials, which
// EnsureRepository hands to Argo CD.
func (a *Client) UseCredentials(c gitops.Credentials) { a.creds = c }

// EnsureRepository gives Argo CD the credentials of a remote GitOps repository, as a
// repository Secret in its namespace (Argo CD's declarative setup); without credentials it
// does nothing. For SSH, Argo CD checks host keys against its own argocd-ssh-known-hosts-cm,
// which the platform team maintains.
func (a *Client) EnsureRepository(ctx context.Context) error {
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
