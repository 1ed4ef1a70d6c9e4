package argocd

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/argoproj/argo-cd/v3/pkg/apis/application/v1alpha1"
	"github.com/berth-platform/berth/internal/errs"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/rest"
)

// Argo CD's declarative setup: a Secret with this label in its namespace is a cluster.
const (
	labelSecretType = "argocd.argoproj.io/secret-type"
	LabelCluster    = "berth.dev/cluster"
)

// ClusterSecretName is the Secret that tells Argo CD about a cluster registered with Berth.
func ClusterSecretName(cluster string) string {
	return derived("berth-cluster-"+cluster, "cluster/"+cluster)
}

// EnsureCluster gives Argo CD a registered cluster (named as in Berth, reached with cfg:
// Berth's own credentials, from its sealed store; they are never in Git) and returns the
// server URL that Applications and the AppProject name as their destination. A cluster the
// platform team already gave Argo CD (a cluster Secret of the same server that Berth did not
// write) is used as it is.
func (a *Client) EnsureCluster(ctx context.Context, cluster string, cfg *rest.Config) (string, error) {
	secrets := a.core.CoreV1().Secrets(a.namespace)
	list, err := secrets.List(ctx, metav1.ListOptions{LabelSelector: labelSecretType + "=cluster"})
	if err != nil {
		return "", fmt.Errorf("argo cd clusters: %w", err)
	}
	name := ClusterSecretName(cluster)
	for _, s := range list.Items {
		if s.Name != name && string(s.Data["server"]) == cfg.Host {
			return cfg.Host, nil
		}
	}
	conf := v1alpha1.ClusterConfig{BearerToken: cfg.BearerToken, TLSClientConfig: v1alpha1.TLSClientConfig{
		Insecure: cfg.Insecure, ServerName: cfg.ServerName, CAData: cfg.CAData, CertData: cfg.CertData, KeyData: cfg.KeyData}}
	raw, err := json.Marshal(conf)
	if err != nil {
		return "", err
	}
	sec := corev1ac.Secret(name, a.namespace).
		WithLabels(map[string]string{labelSecretType: "cluster", LabelManagedBy: ManagedBy, LabelCluster: cluster}).
		WithStringData(map[string]string{"name": cluster, "server": cfg.Host, "config": string(raw)})
	if _, err := secrets.Apply(ctx, sec, metav1.ApplyOptions{FieldManager: FieldManager, Force: true}); err != nil {
		return "", fmt.Errorf("%w: argo cd cluster secret %s: %v", errs.ErrUnavailable, name, err)
	}
	return cfg.Host, nil
}

// RemoveCluster takes a cluster that was unregistered from Argo CD, if Berth gave it.
func (a *Client) RemoveCluster(ctx context.Context, cluster string) error {
	secrets := a.core.CoreV1().Secrets(a.namespace)
	name := ClusterSecretName(cluster)
	cur, err := secrets.Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if cur.Labels[LabelManagedBy] != ManagedBy || cur.Labels[LabelCluster] != cluster {
		return nil
	}
	err = secrets.Delete(ctx, name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}
